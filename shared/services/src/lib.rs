//! Domain services of the Ibrat dialer, written once over the ports and
//! shared by every Lambda function and by local mode.
//!
//! Every worker step is a public function returning an outcome, so tests
//! drive the system step by step instead of sleeping.

pub mod auth;
pub mod callflow;
pub mod calls;
pub mod config;
pub mod context;
pub mod dialing;
pub mod dnc;
pub mod export;
pub mod import;
pub mod leads;
pub mod messages;
pub mod realtime;
pub mod repo;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod users;

pub use config::Config;
pub use context::Deps;
pub use repo::page::Page;
pub use secret::Secret;
