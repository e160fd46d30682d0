//! The JSON the CLI prints for items: the shapes `indexer::json` defines
//! for every reader (CLI and server alike).

pub use indexer::json::{detail, item};
