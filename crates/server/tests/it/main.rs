//! The server over real HTTP and WebSockets, on port 0, against git
//! repositories the tests create.

mod api;
mod attachments;
mod concurrency;
mod git_commit;
mod live;
mod mirror;
mod support;
