//! Ports: the narrow traits behind which every outside system sits. Domain
//! services depend on these, never on AWS or a web framework; each trait has
//! an AWS adapter and a local adapter, and both pass the same conformance
//! suite (feature `conformance`).

pub mod blobs;
pub mod clock;
pub mod connections;
pub mod events;
pub mod queue;
pub mod store;
pub mod telephony;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use blobs::{BlobError, BlobStore, ContentStream};
pub use clock::{Clock, ManualClock, SystemClock};
pub use connections::{ConnectionSender, NoConnections, PostError};
pub use events::{EventPublisher, NullPublisher};
pub use queue::{Queue, QueueError, ReceivedMessage};
pub use store::{
    Condition, Cursor, Item, Key, Page, Query, SkCondition, Store, StoreError, Update, UpdateError, Value, WriteOp,
};
pub use telephony::{
    AmdMode, CallInstruction, CreateCall, MachineDetection, PlacedCall, RemoteCall, Telephony, TelephonyError,
};
