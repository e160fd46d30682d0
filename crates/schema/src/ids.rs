//! Identifiers: a canonical UUIDv7 for every item, and a short human id.
//!
//! Short ids are *not* a counter. Two branches that each create "the next"
//! issue would both pick `NL-43` and collide on merge, which is why git-based
//! trackers moved to hash-derived ids. Ours are `<KEY>-<suffix>` where the
//! suffix is the low bits of the UUIDv7's random part in lowercase Crockford
//! base32 (no `i l o u`, so ids read aloud unambiguously). The suffix length
//! grows with the workspace so the chance that two concurrently created items
//! collide stays below 1 in 10,000; `check` names both files if it ever
//! happens and `nonlinear mv` renames one.
//!
//! Components may instead carry a chosen key such as `AUTH` (see
//! [`is_component_key`]); those are unique by `check`.

use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Shortest generated suffix.
pub const MIN_SUFFIX: usize = 4;
/// Longest generated suffix (62 random bits / 5 bits per character).
pub const MAX_SUFFIX: usize = 12;

/// A fresh UUIDv7 (time-ordered, so files sort by creation).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Suffix length for a workspace that already holds `existing` items: the
/// smallest length at which a new id collides with an existing one with
/// probability at most 1e-4.
pub fn suffix_len(existing: usize) -> usize {
    let mut len = MIN_SUFFIX;
    while len < MAX_SUFFIX && (existing as f64) / 32f64.powi(len as i32) > 1e-4 {
        len += 1;
    }
    len
}

/// The short id for `id` with a suffix of `len` characters.
pub fn short_id(key: &str, id: Uuid, len: usize) -> String {
    let bytes = id.as_bytes();
    // The last 8 bytes hold the variant (2 bits) and 62 random bits.
    let mut bits =
        u64::from_be_bytes(bytes[8..16].try_into().expect("uuid has 16 bytes")) & (u64::MAX >> 2);
    let len = len.clamp(MIN_SUFFIX, MAX_SUFFIX);
    let mut suffix = vec![0u8; len];
    for slot in suffix.iter_mut().rev() {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    format!(
        "{key}-{}",
        String::from_utf8(suffix).expect("alphabet is ascii")
    )
}

/// The form references are compared in: short ids are case-insensitive.
pub fn normalize(reference: &str) -> String {
    reference.trim().to_ascii_lowercase()
}

/// Parses a canonical (hyphenated) UUID.
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::try_parse(s).ok()
}

/// Whether `s` is a valid short id or component key: ASCII letters, digits,
/// `-` and `_`, starting with a letter, at most 64 characters.
pub fn is_short_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A component key derived from a title: `Auth service` → `AUTH-SERVICE`.
pub fn component_key(title: &str) -> String {
    let mut key = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !key.is_empty() {
            key.push('-');
        }
        key.push_str(&word.to_ascii_uppercase());
    }
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        key.insert(0, 'C');
    }
    key.truncate(40);
    key.trim_end_matches('-').to_owned()
}

/// Whether `s` is a component key rather than a generated short id.
pub fn is_component_key(s: &str) -> bool {
    is_short_id(s) && !s.chars().any(|c| c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids() {
        let id = Uuid::parse_str("01936f2e-7a4b-7c3d-8e5f-0123456789ab").unwrap();
        assert_eq!(short_id("NL", id, 4), "NL-f2db");
        assert_eq!(short_id("NL", id, 6), short_id("NL", id, 6));
        assert!(short_id("NL", id, 6).ends_with(&short_id("NL", id, 4)[3..]));
        assert_eq!(suffix_len(80), 4);
        assert_eq!(suffix_len(1_000), 5);
        assert_eq!(suffix_len(10_000), 6);
        assert_eq!(suffix_len(100_000), 6);
        assert_eq!(component_key("Auth service v2"), "AUTH-SERVICE-V2");
        assert_eq!(component_key("3d engine"), "C3D-ENGINE");
        assert!(is_component_key("AUTH") && !is_component_key("NL-f2db"));
    }
}
