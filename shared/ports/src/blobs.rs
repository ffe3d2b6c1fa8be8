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
    /// The stream an object was being written from failed; nothing was stored.
    #[error("the content of `{key}` could not be produced")]
    Content {
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Chunks an object is written from; a failed chunk abandons the write.
pub type ContentStream = BoxStream<'static, Result<Bytes, Box<dyn std::error::Error + Send + Sync>>>;

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

    /// Writes an object from a stream of chunks without holding it whole
    /// (S3: a multipart upload, one part in memory at a time), with this
    /// `Content-Type`; returns its size. When the stream fails nothing is
    /// written (`BlobError::Content`; what was under `key` stays).
    async fn put_stream(&self, key: &str, content_type: &str, chunks: ContentStream) -> Result<u64, BlobError>;

    /// A URL a client can GET the object from directly, valid for `ttl`,
    /// that downloads it as `file_name`.
    async fn presign_get(&self, key: &str, ttl: Duration, file_name: &str) -> Result<String, BlobError>;

    /// Announces an existing object again, as its arrival was announced, so
    /// whatever an upload starts (an import) starts again; the object's
    /// bytes are unchanged. `NotFound` when the object is gone. S3 copies
    /// the object onto itself (a new `ObjectCreated` notification); the
    /// local store hands the key to its arrivals channel.
    async fn renotify(&self, key: &str) -> Result<(), BlobError>;
}

/// Percent-encodes everything in a blob key but unreserved characters and
/// `/`, so the key is a valid URL path (and an S3 `x-amz-copy-source`).
pub fn encode_key_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
