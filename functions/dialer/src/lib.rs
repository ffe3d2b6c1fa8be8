//! The dialer Lambda's handler, separate from `main` so tests drive it with
//! real SQS event JSON over local adapters.
//!
//! Each record is handled on its own (concurrently, so call-rate waits
//! overlap); only records that failed in a way worth retrying are reported
//! in `batchItemFailures`, so SQS redelivers just those. Malformed bodies and
//! permanent failures are logged and dropped.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use ibrat_services::dialing::{handle_message, DialingError, MessageOutcome};
use ibrat_services::Deps;
use tracing::Instrument;

/// What happened to one record.
#[derive(Debug)]
pub enum RecordResult {
    /// Handled (or dropped as unreadable): delete it.
    Done(MessageOutcome),
    /// Failed for now: SQS should redeliver it. The error is kept whole,
    /// cause included.
    Retry(DialingError),
    /// Failed for good: logged and deleted.
    Failed(DialingError),
}

/// Handles one SQS record.
pub async fn handle_record(deps: &Deps, record: &SqsMessage) -> RecordResult {
    let Some(body) = record.body.as_deref() else {
        return RecordResult::Done(MessageOutcome::Dropped { reason: "empty body".into() });
    };
    match handle_message(deps, body).await {
        Ok(outcome) => RecordResult::Done(outcome),
        Err(e) if e.is_retryable() => {
            tracing::warn!(error = %e, detail = ?e, "message failed; SQS will redeliver it");
            RecordResult::Retry(e)
        }
        Err(e) => {
            tracing::error!(error = %e, detail = ?e, "message failed permanently; dropping it");
            RecordResult::Failed(e)
        }
    }
}

/// Handles a batch and reports the records to redeliver.
pub async fn handle_batch(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let results = join_all(event.records.iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let receive_count = record.attributes.get("ApproximateReceiveCount").cloned().unwrap_or_default();
        let span = tracing::info_span!("sqs_record", message_id = %id, receive_count = %receive_count);
        async move { (id, handle_record(deps, record).await) }.instrument(span)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let RecordResult::Retry(_) = result {
            if id.is_empty() {
                tracing::error!("a failed record has no message id; it cannot be reported");
            } else {
                response.add_failure(id);
            }
        }
    }
    response
}
