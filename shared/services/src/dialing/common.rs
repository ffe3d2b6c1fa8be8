//! Helpers shared by the dialing steps.

use chrono::{DateTime, Utc};
use ibrat_domain::{EventKind, Lead, LeadStatus};

use crate::context::Deps;
use crate::repo;

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
    repo::leads::save(deps.store.as_ref(), &mut lead).await
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
    let saved = repo::leads::save(deps.store.as_ref(), &mut lead).await?;
    if saved {
        deps.emit(EventKind::lead_updated(&lead)).await;
    }
    Ok(saved)
}
