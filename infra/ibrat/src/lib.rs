//! Local mode of the Ibrat Dialer: every function in one process over local
//! adapters ([`system::start`]), and the `ibrat` command line around it.
//! A library so end-to-end tests start the same system in-process.

pub mod admin_cmd;
pub mod backup_archive;
pub mod backup_cmd;
pub mod backup_route;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod import_cmd;
pub mod offline;
pub mod restore_cmd;
pub mod serve_cmd;
pub mod system;
pub mod timer;
pub mod uploads;
pub mod worker;

pub use system::{start, RunningSystem, ServeOptions, StartError};

/// The first line of a clap message without its `error: ` prefix: the one
/// sentence the command line prints for a bad flag.
pub fn first_sentence(message: &str) -> &str {
    let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    line.strip_prefix("error: ").unwrap_or(line)
}
