//! Local mode's adapters: the redb store, the in-process queue, the WebSocket hub
//! and file blobs, each implementing a port of `ibrat-ports`.

pub mod blobs;
pub mod hub;
pub mod queue;
pub mod store;

pub use blobs::FsBlobStore;
pub use hub::{LocalHub, Owner};
pub use queue::MemQueue;
pub use store::{RedbStore, SnapshotError, SnapshotSummary};
