//! The queue consumer: one function handles any `QueueMessage`, used by the
//! dialer Lambda and by local mode's worker loop. Messages are hints and may
//! arrive more than once; every branch is idempotent.

use std::time::Duration;

use ibrat_domain::{Availability, CallId, EventKind, LeadId, UserId};
use tracing::Instrument;

use super::dialer::{dial, DialOutcome};
use super::error::DialingError;
use super::finish::FinishOutcome;
use super::scheduler::{tick, TickOutcome};
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo;

/// What handling one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// A `Dial` was handled.
    Dial { lead_id: LeadId, outcome: DialOutcome },
    /// The salesperson's wrap-up ended; they are available again (or away
    /// when their line is gone).
    WrapUpEnded { user_id: UserId },
    /// A routed call whose room events were late was closed (or was already).
    Settled { call_id: CallId, outcome: FinishOutcome },
    /// The wrap-up this message was for is already over (they moved on).
    WrapUpStale { user_id: UserId },
    /// A `Nudge` ran the scheduler's tick.
    Tick(TickOutcome),
    /// The body could not be read; the message is dropped, not retried.
    Dropped { reason: String },
}

/// Handles one message body. Malformed bodies yield
/// [`MessageOutcome::Dropped`]; errors are for outages, and callers retry the
/// message only when [`DialingError::is_retryable`] says so.
pub async fn handle_message(deps: &Deps, body: &str) -> Result<MessageOutcome, DialingError> {
    let msg = match QueueMessage::parse(body) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "dropping a malformed queue message");
            return Ok(MessageOutcome::Dropped { reason: e.to_string() });
        }
    };
    match msg {
        QueueMessage::Dial { lead_id, manual } => {
            let outcome = dial(deps, &lead_id, manual).await?;
            Ok(MessageOutcome::Dial { lead_id, outcome })
        }
        QueueMessage::WrapUpEnd { user_id, since_ms } => {
            let span = tracing::info_span!("wrap_up_end", user_id = %user_id);
            end_wrap_up(deps, user_id, since_ms).instrument(span).await
        }
        QueueMessage::SettleCall { call_id } => {
            let outcome = crate::callflow::settle(deps, &call_id).await.map_err(|e| match e {
                crate::callflow::CallflowError::Dialing(d) => d,
                crate::callflow::CallflowError::Store(s) => DialingError::Store(s),
                crate::callflow::CallflowError::Queue(q) => DialingError::Queue(q),
                crate::callflow::CallflowError::Contention(c) => DialingError::Contention(c),
            })?;
            Ok(MessageOutcome::Settled { call_id, outcome })
        }
        QueueMessage::Nudge => Ok(MessageOutcome::Tick(tick(deps).await?)),
    }
}

/// Makes the salesperson available if they are still in the wrap-up that
/// began at `since_ms` and their line is still up (one transaction: anything
/// they did since wins); with their line gone they go away instead.
async fn end_wrap_up(deps: &Deps, user_id: UserId, since_ms: i64) -> Result<MessageOutcome, DialingError> {
    let Some(since) = chrono::DateTime::from_timestamp_millis(since_ms) else {
        return Ok(MessageOutcome::Dropped { reason: format!("bad since_ms {since_ms}") });
    };
    let now = deps.clock.now();
    let ready = vec![
        repo::users::end_wrap_up_op(&user_id, since, Availability::Available, now),
        repo::sessions::line_is_up(&user_id),
    ];
    match deps.store.transact_write(ready).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failed() => {
            let away = repo::users::end_wrap_up_op(&user_id, since, Availability::Away, now);
            return match deps.store.transact_write(vec![away]).await {
                Ok(()) => {
                    tracing::info!(user_id = %user_id, "wrap-up over with no open line; away");
                    deps.emit(EventKind::UserAvailability {
                        user_id: user_id.clone(),
                        availability: Availability::Away,
                    })
                    .await;
                    Ok(MessageOutcome::WrapUpEnded { user_id })
                }
                Err(e) if e.is_condition_failed() => Ok(MessageOutcome::WrapUpStale { user_id }),
                Err(e) => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(user_id = %user_id, "wrap-up over; available again");
    deps.emit(EventKind::UserAvailability { user_id: user_id.clone(), availability: Availability::Available }).await;
    if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), Duration::ZERO).await {
        tracing::warn!(error = %e, "could not queue a nudge");
    }
    Ok(MessageOutcome::WrapUpEnded { user_id })
}
