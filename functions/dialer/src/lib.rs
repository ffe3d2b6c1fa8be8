//! The dialer Lambda's handler, separate from `main` so tests drive it with
//! real SQS event JSON over local adapters.
//!
//! Each record is handled on its own (concurrently, so call-rate waits
//! overlap); only records that failed in a way worth retrying are reported
//! in `batchItemFailures`, so SQS redelivers just those. Malformed bodies and
//! permanent failures are logged and dropped.
//!
//! Time budget: the batch gets `Config::dial_budget` (40 s of the
//! function's 60 s timeout) from its start. A `Dial` places its call within
//! it ([`DialOptions::deadline`]): waits and retries that would overrun
//! give the claim back (the lead is due again shortly), and a Twilio
//! request unanswered at the deadline is left as an unknown call for
//! recovery, never resent. A record whose budget is gone before its claim
//! is reported for redelivery untouched.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures::future::join_all;
use ibrat_services::dialing::{dial_with, handle_message, DialOptions, DialingError, MessageOutcome};
use ibrat_services::messages::QueueMessage;
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

/// Handles one message body: a `Dial` within `opts` (its deadline), any
/// other message as the worker does.
async fn handle_body(deps: &Deps, body: &str, opts: &DialOptions) -> Result<MessageOutcome, DialingError> {
    match QueueMessage::parse(body) {
        Ok(QueueMessage::Dial { lead_id, manual }) => {
            let outcome = dial_with(deps, &lead_id, manual, opts).await?;
            Ok(MessageOutcome::Dial { lead_id, outcome })
        }
        _ => handle_message(deps, body).await,
    }
}

/// Handles one SQS record with the options of its batch.
pub async fn handle_record(deps: &Deps, record: &SqsMessage, opts: &DialOptions) -> RecordResult {
    let Some(body) = record.body.as_deref() else {
        return RecordResult::Done(MessageOutcome::Dropped { reason: "empty body".into() });
    };
    if opts.out_of_time(deps.clock.now()) {
        tracing::warn!("the batch's time budget is spent; SQS will redeliver this message");
        return RecordResult::Retry(DialingError::OutOfTime);
    }
    match handle_body(deps, body, opts).await {
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

/// The dial options of a batch starting now: its deadline is
/// `Config::dial_budget` away.
pub fn batch_options(deps: &Deps) -> DialOptions {
    let budget = chrono::Duration::from_std(deps.config.dial_budget).unwrap_or(chrono::Duration::MAX);
    let deadline: Option<DateTime<Utc>> = deps.clock.now().checked_add_signed(budget);
    DialOptions { deadline, ..DialOptions::default() }
}

/// Handles a batch within `Config::dial_budget` and reports the records to
/// redeliver.
pub async fn handle_batch(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    handle_batch_with(deps, event, &batch_options(deps)).await
}

/// Handles a batch with these dial options and reports the records to
/// redeliver.
pub async fn handle_batch_with(deps: &Deps, event: SqsEvent, opts: &DialOptions) -> SqsBatchResponse {
    let results = join_all(event.records.iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let receive_count = record.attributes.get("ApproximateReceiveCount").cloned().unwrap_or_default();
        let span = tracing::info_span!("sqs_record", message_id = %id, receive_count = %receive_count);
        async move { (id, handle_record(deps, record, opts).await) }.instrument(span)
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
