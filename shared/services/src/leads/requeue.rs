//! Putting a lead back in line: the rule for who may be requeued, the
//! change itself, and making a lead ready for an admin's manual dial.

use chrono::{DateTime, Utc};
use ibrat_domain::{Lead, LeadId, LeadStatus};

use super::{LeadError, HOLD_ZONE_UNKNOWN, SAVE_ATTEMPTS};
use crate::context::Deps;
use crate::repo::leads as lead_repo;

/// Puts the lead back in line: queued now when its zone is known, else
/// pending with the reason shown.
pub(super) fn requeue_in_place(lead: &mut Lead, now: DateTime<Utc>) {
    if lead.timezone.is_some() {
        lead.status = LeadStatus::Queued;
        lead.next_attempt_at = Some(now);
        lead.hold_reason = None;
    } else {
        lead.status = LeadStatus::Pending;
        lead.next_attempt_at = None;
        lead.hold_reason = Some(HOLD_ZONE_UNKNOWN.to_owned());
    }
    lead.callback = false;
}

/// Why a lead cannot be requeued, if it cannot.
pub(super) fn requeue_check(lead: &Lead) -> Result<(), String> {
    match lead.status {
        LeadStatus::Queued => Err("already queued".into()),
        s if s.is_active() => Err("a call is in progress".into()),
        LeadStatus::Invalid => Err("the number is invalid".into()),
        LeadStatus::DoNotCall => Err("the number is on the do-not-call list".into()),
        _ if lead.timezone.is_none() => Err(HOLD_ZONE_UNKNOWN.into()),
        s => s.transition(LeadStatus::Queued).map(|_| ()).map_err(|e| e.to_string()),
    }
}

pub(super) fn requeue_now(lead: &mut Lead, now: DateTime<Utc>) {
    if lead.status == LeadStatus::NoMoreAttempts {
        lead.attempts = 0;
    }
    requeue_in_place(lead, now);
}

/// Makes a lead dialable now for an admin's manual call: a lead already
/// waiting is left alone; a finished one is queued again. Returns the lead.
pub(crate) async fn ready_for_manual_dial(deps: &Deps, id: &LeadId) -> Result<Lead, LeadError> {
    for _ in 0..SAVE_ATTEMPTS {
        let mut lead = lead_repo::get(deps.store.as_ref(), id).await?.ok_or(LeadError::NotFound)?;
        if lead.status.is_dialable() {
            if lead.timezone.is_none() {
                return Err(LeadError::Unprocessable(HOLD_ZONE_UNKNOWN.into()));
            }
            return Ok(lead);
        }
        match lead.status {
            s if s.is_active() => return Err(LeadError::Conflict("a call to this lead is in progress".into())),
            LeadStatus::Pending if lead.timezone.is_none() => {
                return Err(LeadError::Unprocessable(HOLD_ZONE_UNKNOWN.into()))
            }
            _ => {}
        }
        requeue_check(&lead).map_err(LeadError::Unprocessable)?;
        let now = deps.clock.now();
        requeue_now(&mut lead, now);
        lead.updated_at = now;
        match deps.store.transact_write(vec![lead_repo::save_op(&mut lead)]).await {
            Ok(()) => return Ok(lead),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(LeadError::Conflict("the lead kept changing; try again".into()))
}
