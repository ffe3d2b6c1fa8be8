//! The work queue on SQS. Limits are checked before sending so a bad request
//! fails the same way here as in the local queue, without a round trip.

use async_trait::async_trait;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError;
use aws_sdk_sqs::operation::delete_message::DeleteMessageError;
use aws_sdk_sqs::operation::send_message::SendMessageError;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use aws_smithy_types::error::display::DisplayErrorContext;
use ibrat_ports::queue::{MAX_BODY_BYTES, MAX_DELAY};
use ibrat_ports::{Queue, QueueError, ReceivedMessage};
use std::time::Duration;

/// Most messages per `SendMessageBatch` or `ReceiveMessage` request.
const SQS_BATCH: usize = 10;
/// Longest long-poll SQS allows.
const MAX_WAIT_SECS: u64 = 20;
/// Longest visibility timeout SQS allows (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;

/// A [`Queue`] backed by one SQS standard queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    /// A queue at `queue_url`, using the shared AWS configuration (region,
    /// credentials and any endpoint override).
    pub fn new(config: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::from_client(aws_sdk_sqs::Client::new(config), queue_url)
    }

    /// A queue using an already built client.
    pub fn from_client(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

/// SQS counts in whole seconds: round up so a delay or timeout is never
/// shorter than asked, then clamp to SQS's limit.
fn whole_seconds(d: Duration, max_secs: u64) -> i32 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0)).min(max_secs);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

fn validate(body: &str, delay: Duration) -> Result<(), QueueError> {
    if body.is_empty() {
        return Err(QueueError::Invalid("empty message body".into()));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(QueueError::Invalid(format!("message body of {} bytes exceeds {MAX_BODY_BYTES}", body.len())));
    }
    if delay > MAX_DELAY {
        return Err(QueueError::Invalid(format!("delay {delay:?} exceeds {MAX_DELAY:?}")));
    }
    Ok(())
}

fn unavailable<E, R>(err: SdkError<E, R>) -> QueueError
where
    SdkError<E, R>: std::error::Error + Send + Sync + 'static,
{
    QueueError::Unavailable(Box::new(err))
}

fn invalid<E: std::error::Error>(err: &E) -> QueueError {
    QueueError::Invalid(DisplayErrorContext(err).to_string())
}

fn to_received(msg: &aws_sdk_sqs::types::Message) -> Option<ReceivedMessage> {
    let (Some(id), Some(receipt)) = (msg.message_id(), msg.receipt_handle()) else {
        tracing::warn!(?msg, "SQS message without id or receipt handle; leaving it to reappear");
        return None;
    };
    let receive_count = msg
        .attributes()
        .and_then(|attrs| attrs.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| {
            tracing::warn!(message_id = id, "SQS message without a receive count; assuming 1");
            1
        });
    Some(ReceivedMessage {
        id: id.to_owned(),
        body: msg.body().unwrap_or_default().to_owned(),
        receipt: receipt.to_owned(),
        receive_count,
    })
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        validate(body, delay)?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(whole_seconds(delay, MAX_DELAY.as_secs()))
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(e @ SendMessageError::InvalidMessageContents(_)) => invalid(e),
                _ => unavailable(err),
            })?;
        Ok(())
    }

    /// Sends in requests of ten. Bodies are all checked first, but a failure
    /// in a later request leaves earlier ones sent; messages are hints, so a
    /// retry that sends some twice is harmless.
    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError> {
        for body in bodies {
            validate(body, Duration::ZERO)?;
        }
        for chunk in bodies.chunks(SQS_BATCH) {
            let mut request = self.client.send_message_batch().queue_url(&self.queue_url);
            for (i, body) in chunk.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError::Invalid(DisplayErrorContext(&e).to_string()))?;
                request = request.entries(entry);
            }
            let out = request.send().await.map_err(unavailable)?;
            if let Some(first) = out.failed().first() {
                let detail = format!(
                    "{} of {} batch entries failed, e.g. {}: {}",
                    out.failed().len(),
                    chunk.len(),
                    first.code(),
                    first.message().unwrap_or_default()
                );
                return Err(if out.failed().iter().any(|f| f.sender_fault()) {
                    QueueError::Invalid(detail)
                } else {
                    QueueError::Unavailable(detail.into())
                });
            }
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let max = max.min(SQS_BATCH);
        if max == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(10))
            .wait_time_seconds(whole_seconds(wait, MAX_WAIT_SECS))
            .visibility_timeout(whole_seconds(visibility, MAX_VISIBILITY_SECS))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.messages().iter().filter_map(to_received).collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        // SQS itself accepts a second delete of the same receipt.
        self.client.delete_message().queue_url(&self.queue_url).receipt_handle(receipt).send().await.map_err(
            |err| match err.as_service_error() {
                Some(e @ DeleteMessageError::ReceiptHandleIsInvalid(_)) => invalid(e),
                _ => unavailable(err),
            },
        )?;
        Ok(())
    }

    async fn release(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(visibility, MAX_VISIBILITY_SECS))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                // Already visible again: releasing it is what we wanted anyway.
                Some(ChangeMessageVisibilityError::MessageNotInflight(_)) => Ok(()),
                Some(e @ ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_)) => Err(invalid(e)),
                _ => Err(unavailable(err)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_up_and_clamp() {
        assert_eq!(whole_seconds(Duration::ZERO, 20), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1), 20), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500), 20), 2);
        assert_eq!(whole_seconds(Duration::from_secs(2), 20), 2);
        assert_eq!(whole_seconds(Duration::from_secs(600), 20), 20);
        assert_eq!(whole_seconds(Duration::MAX, u64::MAX), i32::MAX);
    }
}
