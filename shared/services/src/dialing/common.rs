//! Helpers shared by the dialing steps.

use chrono::{DateTime, Utc};
use ibrat_domain::{EventKind, Lead, LeadStatus};
use ibrat_ports::{Condition, Item, Value, WriteOp};

use crate::context::Deps;
use crate::repo;

/// Optimistic concurrency for a write of an item read at `expected`. Unlike
/// `Condition::version(0)`, a stored `version = 0` also counts as version 0,
/// so items created with version 0 can still be updated.
pub(crate) fn version_is(expected: u64) -> Condition {
    if expected == 0 {
        Condition::Or(vec![Condition::NotExists("version".into()), Condition::Eq("version".into(), Value::N(0))])
    } else {
        Condition::Eq("version".into(), Value::N(expected as i64))
    }
}

/// Bumps the lead's version and returns the write that stores it only if it
/// is still at the version read.
pub(crate) fn lead_save_op(lead: &mut Lead) -> WriteOp {
    let expected = lead.version;
    lead.version += 1;
    WriteOp::Put { item: repo::leads::to_item(lead), condition: Some(version_is(expected)) }
}

/// Writes one item conditionally; Ok(false) when the condition failed.
pub(crate) async fn put_if(deps: &Deps, item: Item, condition: Condition) -> Result<bool, ibrat_ports::StoreError> {
    match deps.store.put(item, Some(condition)).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Stores a changed lead if nobody changed it since it was read; Ok(false)
/// on a lost race (the caller's next look sees the winner's state).
pub(crate) async fn save_lead(deps: &Deps, lead: &mut Lead) -> Result<bool, ibrat_ports::StoreError> {
    let expected = lead.version;
    lead.version += 1;
    put_if(deps, repo::leads::to_item(lead), version_is(expected)).await
}

/// The event that tells clients a lead changed.
pub(crate) fn lead_event(lead: &Lead) -> EventKind {
    EventKind::LeadUpdated {
        lead_id: lead.id.clone(),
        status: lead.status,
        priority: lead.priority,
        salesperson_id: lead.salesperson_id.clone(),
        next_attempt_at: lead.next_attempt_at,
    }
}

/// Moves a due lead whose calling window is closed to the window's next
/// opening (its queue position follows). Ok(false) when someone else changed
/// the lead first.
pub(crate) async fn defer_to_window(
    deps: &Deps,
    lead: &Lead,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, ibrat_ports::StoreError> {
    let mut lead = lead.clone();
    lead.next_attempt_at = Some(next);
    lead.updated_at = now;
    save_lead(deps, &mut lead).await
}

/// Takes a lead whose zone is unknown or unreadable out of the queue, with a
/// reason the API shows. Ok(false) on a lost race.
pub(crate) async fn hold_for_zone(
    deps: &Deps,
    lead: &Lead,
    now: DateTime<Utc>,
) -> Result<bool, ibrat_ports::StoreError> {
    let mut lead = lead.clone();
    if lead.status.transition(LeadStatus::Pending).is_err() {
        return Ok(false);
    }
    lead.status = LeadStatus::Pending;
    lead.hold_reason = Some(match &lead.timezone {
        Some(tz) => format!("unknown time zone `{tz}`"),
        None => "time zone unknown".to_owned(),
    });
    lead.updated_at = now;
    let saved = save_lead(deps, &mut lead).await?;
    if saved {
        deps.emit(lead_event(&lead)).await;
    }
    Ok(saved)
}
