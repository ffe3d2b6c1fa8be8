//! The work queue port (SQS on AWS, in-process locally). Messages are hints:
//! the table is the source of truth, so every consumer is idempotent and a
//! message may arrive more than once.

use async_trait::async_trait;
use std::time::Duration;

/// Queue failures.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The message was refused (too large, bad delay, ...).
    #[error("invalid queue request: {0}")]
    Invalid(String),
    /// The queue could not be reached; retry later.
    #[error("queue unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl QueueError {
    /// True when trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, QueueError::Unavailable(_))
    }
}

/// A message handed to a consumer; delete it once handled, or it comes back
/// after the visibility timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Unique per message.
    pub id: String,
    pub body: String,
    /// Handle for `delete` and `extend`; unique per receipt.
    pub receipt: String,
    /// How many times this message has been received, this time included.
    pub receive_count: u32,
}

/// Longest delay a message may be given (SQS's limit).
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// Largest message body (SQS's limit).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A queue of text messages.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends a message that becomes visible after `delay` (at most [`MAX_DELAY`]).
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError>;

    /// Sends many messages (chunked by the adapter, 10 per SQS request).
    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError>;

    /// Receives up to `max` visible messages, waiting up to `wait` for the
    /// first; received messages stay hidden for `visibility`.
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Deletes a received message. Deleting twice is not an error.
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;

    /// Makes a received message visible again after `visibility`
    /// (zero: at once), for a consumer that gives it back.
    async fn release(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError>;
}
