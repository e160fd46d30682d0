//! The Non-Linear file format: model, parser, validator and editor.
//!
//! A workspace is a git repository with a `.nonlinear/` folder. Components,
//! issues, artifacts and comments are Markdown files with YAML front matter;
//! this crate turns their text into typed items plus diagnostics, checks the
//! rules that span files, and edits files without disturbing a byte it does
//! not have to. `docs/format.md` is the specification.
//!
//! The core is sans-IO: [`parse`], [`Workspace::from_files`], [`edit`] and
//! [`filter`] work on text they are handed. [`store`] is the one module that
//! touches the file system (reading a workspace in parallel, atomic locked
//! writes).
//!
//! ```
//! use nonlinear_schema::{Workspace, edit};
//!
//! let config = "key: NL\nstatuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\n";
//! let issue = "---\nid: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90\nshort_id: NL-k3x9\ntitle: Ship it\nstatus: todo\n---\nBody.\n";
//! let ws = Workspace::from_files([
//!     (".nonlinear/config.yaml", config.as_bytes()),
//!     (".nonlinear/issues/NL-k3x9.md", issue.as_bytes()),
//! ]);
//! assert!(ws.check(&|_: &str| true).is_empty());
//! assert_eq!(ws.resolve("nl-K3X9").unwrap().title_str(), "Ship it");
//!
//! let done = edit::apply(issue, &[edit::Op::Set { key: "status".into(), value: edit::Scalar::str("done") }]).unwrap();
//! assert_eq!(done, issue.replace("status: todo", "status: done"));
//! ```

pub mod diagnostic;
pub mod edit;
pub mod filter;
pub mod ids;
pub mod markdown;
pub mod model;
pub mod parse;
pub mod store;
pub mod synth;
pub mod text;
pub mod workspace;
pub mod yaml;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use model::{Config, Fields, Item, Kind, LinkField};
pub use workspace::{PathProbe, Workspace};
