//! Helpers shared by the call-flow steps.

use chrono::{DateTime, Utc};
use ibrat_domain::{AnsweredBy, Availability, Call, CallOutcome, EventKind, Settings, UserId};

use super::error::CallflowError;
use crate::context::Deps;
use crate::repo;

/// How many times a step re-reads and retries after losing a race.
pub(crate) const MAX_ROUNDS: usize = 6;

/// What a person hears when nobody is free: the configured message, naming
/// the company (it is prefixed when the message does not name it already).
pub(crate) fn abandon_message(settings: &Settings) -> String {
    let message = settings.abandon_message.trim();
    let company = settings.company_name.trim();
    if company.is_empty() || message.to_lowercase().contains(&company.to_lowercase()) {
        message.to_owned()
    } else {
        format!("Hello, this is {company}. {message}")
    }
}

/// True for answers that are not a person.
pub(crate) fn is_machine(answered_by: Option<AnsweredBy>) -> bool {
    matches!(answered_by, Some(AnsweredBy::Machine | AnsweredBy::Fax))
}

/// Whole seconds from `from` to `to` (never negative).
pub(crate) fn secs_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    (to - from).num_seconds().clamp(0, u32::MAX as i64) as u32
}

/// Moves a salesperson who is still on `call` (`on_call` with
/// `current_call_id = call`) to `to`, clearing the call, and marks their
/// leg (the `AGENTCALL` link) released in the same transaction. Ok(false)
/// when they are not on it any more (a duplicate, or the call's finish
/// moved them).
pub(crate) async fn release_salesperson(
    deps: &Deps,
    user: &UserId,
    call: &Call,
    to: Availability,
    now: DateTime<Utc>,
) -> Result<bool, CallflowError> {
    for _ in 0..=RELEASE_CONFLICT_RETRIES {
        let ops = vec![
            repo::users::release_op(user, &call.id, to, now),
            repo::calls::agent_release_op(&call.id, call.created_at, user, now),
        ];
        match deps.store.transact_write(ops).await {
            Ok(()) => {
                deps.emit(EventKind::UserAvailability { user_id: user.clone(), availability: to }).await;
                return Ok(true);
            }
            Err(e) if e.is_condition_failed() => return Ok(false),
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, "release transaction conflicted; retrying");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CallflowError::Contention(format!("releasing salesperson {user} kept conflicting")))
}

/// Retries of a release after a transaction conflict (not a condition).
const RELEASE_CONFLICT_RETRIES: usize = 2;

/// The outcome a finished call ended with (None while it is open).
pub(crate) fn finished_outcome(call: &Call) -> Option<CallOutcome> {
    call.outcome.or_else(|| CallOutcome::from_status(call.status))
}
