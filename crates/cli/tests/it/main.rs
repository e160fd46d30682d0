//! End-to-end tests of the `nonlinear` binary: every test builds a real git
//! repository in a temporary directory, runs the real binary on it and looks
//! at what it printed, how it exited and what `git diff` says it changed.
//! No mocks.
//!
//! * `support`: the temporary repository and the process runner.
//! * `ws`: a small hand-written workspace (comments, odd key order, quoting).
//! * `check`: `init`, `check` formats and exit codes, `check --since`.
//! * `edits`: every verb leaves the minimal git diff.
//! * `concurrency`: parallel writers never lose an update.
//! * `mirror`: `mirror sync`, `verify [--repair]`, `status` on a real
//!   Postgres.
//! * `read`: `show`/`list`/`ready`, filters and their JSON.
//! * `bad_input`: hostile files are diagnosed, never a panic.
//! * `fixtures`: the demo workspace and `generate`.
//! * `history`: `diff` (text, Markdown, JSON), `log` across renames, and
//!   the read commands and `check` at `--rev`.
//! * `daemon`: graph verbs answered by `nonlinear daemon` equal the same
//!   verbs without it, right after every kind of edit.
//! * `watch`: `watch --json` in the background sees an edit; SIGTERM ends it.

// `cfg(test)` lets clippy treat the helpers as test code too
// (`allow-unwrap-in-tests`).
#[cfg(test)]
mod bad_input;
#[cfg(test)]
mod check;
#[cfg(test)]
mod concurrency;
#[cfg(test)]
mod daemon;
#[cfg(test)]
mod edits;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod history;
#[cfg(test)]
mod mirror;
#[cfg(test)]
mod read;
#[cfg(test)]
mod support;
#[cfg(test)]
mod watch;
#[cfg(test)]
mod ws;
