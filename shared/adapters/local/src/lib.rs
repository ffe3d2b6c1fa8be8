//! placeholder

pub mod blobs;
pub mod hub;
pub mod queue;
pub mod store;

pub use blobs::FsBlobStore;
pub use hub::{LocalHub, Owner};
pub use queue::MemQueue;
pub use store::RedbStore;
