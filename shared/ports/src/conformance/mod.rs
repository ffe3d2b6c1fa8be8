//! Conformance suites: one per port, run by every adapter's tests so an
//! adapter is only done when it behaves exactly like the others.

pub mod blobs;
pub mod connections;
pub mod queue;
pub mod store;
