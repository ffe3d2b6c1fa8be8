//! Object storage for uploaded CSV files (S3 on AWS, a folder locally).

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::time::Duration;

/// Object storage failures.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object `{0}` not found")]
    NotFound(String),
    #[error("invalid object key `{0}`")]
    InvalidKey(String),
    #[error("object storage unavailable: {0}")]
    Unavailable(String),
}

/// Stores and streams objects by key.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes a whole object.
    async fn put(&self, key: &str, body: Bytes) -> Result<(), BlobError>;

    /// Streams an object in chunks, never holding it whole in memory.
    async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError>;

    /// The object's size in bytes.
    async fn size(&self, key: &str) -> Result<u64, BlobError>;

    /// A URL a client can PUT the object to directly, valid for `ttl`.
    async fn presign_put(&self, key: &str, ttl: Duration) -> Result<String, BlobError>;

    /// Announces an existing object again, as its arrival was announced, so
    /// whatever an upload starts (an import) starts again; the object's
    /// bytes are unchanged. `NotFound` when the object is gone. S3 copies
    /// the object onto itself (a new `ObjectCreated` notification); the
    /// local store hands the key to its arrivals channel.
    async fn renotify(&self, key: &str) -> Result<(), BlobError>;
}
