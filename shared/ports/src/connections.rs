//! Posting to one live client connection (API Gateway's management API on
//! AWS, an open socket locally).

use async_trait::async_trait;

/// Why a post failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The connection no longer exists (HTTP 410): forget it.
    #[error("connection gone")]
    Gone,
    /// Anything else; the connection is kept.
    #[error("post failed: {0}")]
    Failed(String),
}

/// Sends bytes to a connection by id.
#[async_trait]
pub trait ConnectionSender: Send + Sync {
    /// Posts one message to one connection.
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<(), PostError>;

    /// Closes a connection from the server side (best effort).
    async fn close(&self, connection_id: &str);
}

/// A sender for a process that holds no client connections (offline
/// commands, tests with no sockets): every post is `Gone`, closing does
/// nothing.
pub struct NoConnections;

#[async_trait]
impl ConnectionSender for NoConnections {
    async fn post(&self, _connection_id: &str, _payload: &[u8]) -> Result<(), PostError> {
        Err(PostError::Gone)
    }

    async fn close(&self, _connection_id: &str) {}
}
