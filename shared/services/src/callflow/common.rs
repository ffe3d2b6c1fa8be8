//! Helpers shared by the call-flow steps.

use chrono::{DateTime, Utc};
use ibrat_domain::{AnsweredBy, Availability, Call, CallId, CallOutcome, EventKind, Lead, Settings, UserId};
use ibrat_ports::{Condition, StoreError, Update, Value, WriteOp};

use super::error::CallflowError;
use crate::context::Deps;
use crate::repo::{self, keys};

/// The call attribute counting salespeople tried for this call (absent: one,
/// or none before the first bridge).
pub(crate) const BRIDGE_ATTEMPTS: &str = "bridge_attempts";

/// The user attribute naming the call a salesperson is on.
pub(crate) const CURRENT_CALL: &str = "current_call_id";

/// How many times a step re-reads and retries after losing a race.
pub(crate) const MAX_ROUNDS: usize = 6;

/// A call with the attributes the domain type does not carry.
#[derive(Debug, Clone)]
pub(crate) struct CallRecord {
    pub call: Call,
    /// Salespeople tried so far (0 before the first bridge).
    pub bridge_attempts: u32,
}

/// Reads a call with its bridge counter.
pub(crate) async fn load_call(deps: &Deps, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
    let Some(item) = deps.store.get(&keys::call(id)).await? else {
        return Ok(None);
    };
    let call = repo::calls::from_item(&item)?;
    let stored = item.n(BRIDGE_ATTEMPTS).map(|n| n.clamp(0, u32::MAX as i64) as u32);
    let bridge_attempts = match stored {
        Some(n) => n,
        None if call.salesperson_id.is_some() => 1,
        None => 0,
    };
    Ok(Some(CallRecord { call, bridge_attempts }))
}

/// Optimistic concurrency on an item read at `expected` (a stored 0 and an
/// absent version both count as 0).
pub(crate) fn version_is(expected: u64) -> Condition {
    if expected == 0 {
        Condition::Or(vec![Condition::NotExists("version".into()), Condition::Eq("version".into(), Value::N(0))])
    } else {
        Condition::Eq("version".into(), Value::N(expected as i64))
    }
}

/// The version-conditioned update of a call; bumps `call.version`. An
/// update (not a put) so attributes other writers added are kept.
pub(crate) fn call_update_op(call: &mut Call, update: Update) -> WriteOp {
    let expected = call.version;
    call.version += 1;
    WriteOp::Update {
        key: keys::call(&call.id),
        update: update.set("version", call.version),
        condition: Some(version_is(expected)),
    }
}

/// Stores a changed lead only if it is still at the version read; bumps it.
pub(crate) fn lead_save_op(lead: &mut Lead) -> WriteOp {
    let expected = lead.version;
    lead.version += 1;
    WriteOp::Put { item: repo::leads::to_item(lead), condition: Some(version_is(expected)) }
}

/// The event telling clients a lead changed.
pub(crate) fn lead_event(lead: &Lead) -> EventKind {
    EventKind::LeadUpdated {
        lead_id: lead.id.clone(),
        status: lead.status,
        priority: lead.priority,
        salesperson_id: lead.salesperson_id.clone(),
        next_attempt_at: lead.next_attempt_at,
    }
}

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
    let condition =
        Condition::eq("availability", Availability::OnCall.as_str()).and(Condition::eq(CURRENT_CALL, call.id.as_str()));
    for _ in 0..=RELEASE_CONFLICT_RETRIES {
        let ops = vec![
            WriteOp::Update {
                key: keys::user(user),
                update: repo::users::availability_update(user, to, now).remove(CURRENT_CALL),
                condition: Some(condition.clone()),
            },
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
