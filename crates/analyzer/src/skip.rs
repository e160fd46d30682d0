//! Which files the analyzer never reads: build output, vendored and
//! generated code. The rules are fixed in code for now and listed in
//! `docs/analyzer.md`; an `analyzer:` section in the workspace config can
//! extend them later.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Directories never entered, at any depth: build output, vendored
/// dependencies, version control, our own folder. `.gitignore`d paths are
/// skipped as well.
pub const SKIP_DIRS: &[&str] = &[
    ".git",
    ".nonlinear",
    "target",
    "vendor",
    "node_modules",
    ".venv",
    "__pycache__",
];

/// How many leading lines of a file are searched for a generated-code marker.
pub const MARKER_LINES: usize = 5;

/// Whether a file says it was generated, in its first [`MARKER_LINES`]
/// lines: `@generated` (rustfmt, Cargo, many generators) or Go's
/// `Code generated … DO NOT EDIT.`.
pub fn is_generated(text: &str) -> bool {
    text.lines().take(MARKER_LINES).any(|l| {
        l.contains("@generated") || (l.contains("Code generated") && l.contains("DO NOT EDIT"))
    })
}

/// Why a file is not analyzed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// `linguist-generated` in `.gitattributes`, or a marker line.
    Generated,
    /// `linguist-vendored` in `.gitattributes`.
    Vendored,
}

/// The `linguist-generated` and `linguist-vendored` patterns of every
/// `.gitattributes` file in the tree.
#[derive(Debug)]
pub struct Attributes {
    generated: GlobSet,
    vendored: GlobSet,
}

impl Attributes {
    /// Builds the matchers from `(path of the .gitattributes file, its text)`.
    /// Patterns are git's: without a `/` they match a name at any depth
    /// below the file's directory, with one they are anchored to it. Lines
    /// that are not valid globs are ignored; a later `-attr` or
    /// `attr=false` is not an unset (rare for these attributes).
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Attributes {
        let mut generated = GlobSetBuilder::new();
        let mut vendored = GlobSetBuilder::new();
        for (path, text) in files {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let mut words = line.split_whitespace();
                let Some(pattern) = words.next() else {
                    continue;
                };
                let (mut gen_, mut ven) = (false, false);
                for attr in words {
                    match attr {
                        "linguist-generated" | "linguist-generated=true" => gen_ = true,
                        "linguist-vendored" | "linguist-vendored=true" => ven = true,
                        _ => {}
                    }
                }
                if !(gen_ || ven) {
                    continue;
                }
                for glob in globs_of(dir, pattern) {
                    let Ok(g) = GlobBuilder::new(&glob).literal_separator(true).build() else {
                        continue;
                    };
                    if gen_ {
                        generated.add(g.clone());
                    }
                    if ven {
                        vendored.add(g);
                    }
                }
            }
        }
        Attributes {
            generated: generated.build().unwrap_or_else(|_| GlobSet::empty()),
            vendored: vendored.build().unwrap_or_else(|_| GlobSet::empty()),
        }
    }

    /// Whether the attributes exclude a workspace-relative path.
    pub fn skipped(&self, path: &str) -> Option<Skipped> {
        if self.vendored.is_match(path) {
            Some(Skipped::Vendored)
        } else if self.generated.is_match(path) {
            Some(Skipped::Generated)
        } else {
            None
        }
    }
}

/// The globs (relative to the workspace root) a `.gitattributes` pattern in
/// `dir` stands for: the path itself and everything below it.
fn globs_of(dir: &str, pattern: &str) -> Vec<String> {
    let anchored = pattern.trim_end_matches('/').contains('/');
    let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
    let base = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let full = if anchored {
        format!("{base}{pattern}")
    } else {
        format!("{base}**/{pattern}")
    };
    vec![full.clone(), format!("{full}/**")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_patterns() {
        let a = Attributes::new([
            (
                ".gitattributes",
                "*.pb.rs linguist-generated\nthird_party/** linguist-vendored\n",
            ),
            ("web/.gitattributes", "/dist linguist-generated=true\n"),
        ]);
        assert_eq!(a.skipped("src/api.pb.rs"), Some(Skipped::Generated));
        assert_eq!(a.skipped("api.pb.rs"), Some(Skipped::Generated));
        assert_eq!(a.skipped("third_party/x/lib.rs"), Some(Skipped::Vendored));
        assert_eq!(a.skipped("web/dist/a.js"), Some(Skipped::Generated));
        assert_eq!(a.skipped("dist/a.js"), None);
        assert_eq!(a.skipped("src/lib.rs"), None);
    }

    #[test]
    fn markers() {
        assert!(is_generated("// @generated by prost\nfn x() {}"));
        assert!(is_generated(
            "// Code generated by protoc-gen-go. DO NOT EDIT.\n"
        ));
        assert!(!is_generated("fn x() {}\n\n\n\n\n// @generated"));
    }
}
