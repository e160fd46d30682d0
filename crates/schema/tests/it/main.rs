//! The integration tests of `nonlinear-schema`: one binary, one module per
//! feature area.
//!
//! * `diagnostics`: data-driven workspaces under `tests/data/diagnostics/`,
//!   one per problem, each with an `expected.txt` snapshot.
//! * `roundtrip`: every edit operation changes only the lines it must.
//! * `props`: property tests (no panics on hostile input; edits round-trip).
//!
//! `UPDATE_EXPECT=1 cargo test -p nonlinear-schema --test it` rewrites every
//! snapshot (inline `expect![[…]]` ones and the `expected.txt` files); review
//! the resulting `git diff` before committing it.

// `cfg(test)` lets clippy treat the helpers as test code too
// (`allow-unwrap-in-tests`).
#[cfg(test)]
mod diagnostics;
#[cfg(test)]
mod diff;
#[cfg(test)]
mod props;
#[cfg(test)]
mod roundtrip;
