//! Repositories: the item layout of every entity, written once over the
//! store port. Services never spell keys or attribute names themselves.
//! The layout is documented in `docs/ACCESS_PATTERNS.md`.

pub mod calls;
pub mod codec;
pub mod connections;
pub mod dnc;
pub mod import_errors;
pub mod imports;
pub mod inflight;
pub mod keys;
pub mod leads;
pub mod pacing;
pub mod page;
pub mod rate;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod throttle;
pub mod tokens;
pub mod tx;
pub mod users;
