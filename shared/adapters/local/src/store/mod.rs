//! The embedded single-table store: redb on disk (or in memory for tests),
//! with DynamoDB's semantics so local mode runs production's access patterns.

mod codec;
mod range;
mod redb_store;
mod snapshot;

pub use redb_store::RedbStore;
pub use snapshot::{SnapshotError, SnapshotSummary};
