//! Helpers shared by the call-flow steps.

use chrono::{DateTime, Utc};
use ibrat_domain::{AnsweredBy, Call, CallId, CallOutcome, EventKind, Lead, Settings};
use ibrat_ports::{Condition, StoreError, Update, Value, WriteOp};

use crate::context::Deps;
use crate::repo::{self, keys};

pub(crate) use crate::repo::users::CURRENT_CALL;

/// How many times a step re-reads and retries after losing a race.
pub(crate) const MAX_ROUNDS: usize = 6;

/// A call as read by a call-flow step.
#[derive(Debug, Clone)]
pub(crate) struct CallRecord {
    pub call: Call,
}

/// Reads a call.
pub(crate) async fn load_call(deps: &Deps, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
    Ok(repo::calls::get(deps.store.as_ref(), id).await?.map(|call| CallRecord { call }))
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

/// The safe-harbor message a person hears when nobody is ready: the
/// configured message with the company's name and a number to call back or
/// opt out on.
pub(crate) fn safe_harbor(deps: &Deps, settings: &Settings) -> String {
    settings.safe_harbor_message(&deps.config.twilio_from)
}

/// True for answers that are not a person.
pub(crate) fn is_machine(answered_by: Option<AnsweredBy>) -> bool {
    matches!(answered_by, Some(AnsweredBy::Machine | AnsweredBy::Fax))
}

/// Whole seconds from `from` to `to` (never negative).
pub(crate) fn secs_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    (to - from).num_seconds().clamp(0, u32::MAX as i64) as u32
}

/// The outcome a finished call ended with (None while it is open).
pub(crate) fn finished_outcome(call: &Call) -> Option<CallOutcome> {
    call.outcome.or_else(|| CallOutcome::from_status(call.status))
}
