//! Creating a lead by hand, changing or deleting one, and moving a lead to
//! do-not-call when its number is listed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ibrat_domain::timezone::{parse_zone, zone_for_phone};
use ibrat_domain::{Email, Lead, LeadId, LeadStatus, Phone, Priority};
use ibrat_ports::{StoreError, WriteOp};

use super::requeue::requeue_in_place;
use super::{emit_updated, load_visible, nudge, LeadError, HOLD_ZONE_UNKNOWN, SAVE_ATTEMPTS};
use crate::auth::Actor;
use crate::context::Deps;
use crate::repo::{self, leads as lead_repo};

/// A lead entered by hand.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub priority: Option<Priority>,
    /// IANA zone; inferred from the number when absent.
    pub timezone: Option<String>,
    pub notes: Option<String>,
    pub custom: BTreeMap<String, String>,
}

fn check_notes(notes: &str) -> Result<(), LeadError> {
    if notes.chars().count() > 5000 {
        return Err(LeadError::Validation("notes must be at most 5000 characters".into()));
    }
    Ok(())
}

fn check_zone(zone: &str) -> Result<String, LeadError> {
    parse_zone(zone)
        .map(|z| z.name().to_owned())
        .ok_or_else(|| LeadError::Validation(format!("`{zone}` is not an IANA time zone such as Asia/Tashkent")))
}

/// Creates one lead. The phone is read in the deployment's default region;
/// the zone comes from the request or the number's country. With a zone the
/// lead is queued to dial now; without one it waits as pending. A number on
/// the do-not-call list is stored as do_not_call. 409 when the phone exists.
pub async fn create(deps: &Deps, actor: &Actor, input: NewLead) -> Result<Lead, LeadError> {
    actor.require_admin()?;
    let name = input.name.trim().to_owned();
    if name.chars().count() > 200 {
        return Err(LeadError::Validation("name must be at most 200 characters".into()));
    }
    let phone = Phone::parse(&input.phone, deps.config.default_region)?;
    let email = match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(e) => Some(Email::parse(e)?),
    };
    let notes = input.notes.unwrap_or_default();
    check_notes(&notes)?;
    if input.custom.len() > 50 || input.custom.iter().any(|(k, v)| k.len() > 100 || v.len() > 1000) {
        return Err(LeadError::Validation("custom: at most 50 fields, keys 100 and values 1000 characters".into()));
    }
    let timezone = match input.timezone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
        Some(z) => Some(check_zone(z)?),
        None => zone_for_phone(&phone).map(|z| z.name().to_owned()),
    };
    let now = deps.clock.now();
    let on_dnc = repo::dnc::contains(deps.store.as_ref(), &phone).await?;
    let (status, next_attempt_at, hold_reason) = if on_dnc {
        (LeadStatus::DoNotCall, None, None)
    } else if timezone.is_some() {
        (LeadStatus::Queued, Some(now), None)
    } else {
        (LeadStatus::Pending, None, Some(HOLD_ZONE_UNKNOWN.to_owned()))
    };
    let lead = Lead {
        id: LeadId::for_phone(&phone),
        name,
        phone,
        email,
        priority: input.priority.unwrap_or(Priority::Medium),
        status,
        attempts: 0,
        next_attempt_at,
        callback: false,
        timezone,
        notes,
        custom: input.custom,
        import_id: None,
        import_line: None,
        last_call_id: None,
        salesperson_id: None,
        hold_reason,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let (item, condition) = lead_repo::create_op(&lead);
    match deps.store.put(item, condition).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { .. }) => return Err(LeadError::Exists(lead.id)),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(lead_id = %lead.id, by = %actor.id, status = lead.status.as_str(), "lead created");
    emit_updated(deps, &lead).await;
    if lead.status == LeadStatus::Queued {
        nudge(deps).await;
    }
    Ok(lead)
}

/// Changes to a lead. None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LeadPatch {
    pub priority: Option<Priority>,
    pub notes: Option<String>,
    pub timezone: Option<String>,
    /// true: put the number on the do-not-call list (and the lead with it);
    /// false: take it off and queue the lead again.
    pub do_not_call: Option<bool>,
}

/// Applies a patch to a fresh copy; returns the extra writes it needs.
fn apply_patch(lead: &mut Lead, patch: &LeadPatch, now: DateTime<Utc>) -> Result<Vec<WriteOp>, LeadError> {
    let mut extra = Vec::new();
    if let Some(p) = patch.priority {
        lead.priority = p;
    }
    if let Some(n) = &patch.notes {
        check_notes(n)?;
        lead.notes = n.clone();
    }
    if let Some(z) = &patch.timezone {
        lead.timezone = Some(check_zone(z)?);
        if lead.status == LeadStatus::Pending && lead.hold_reason.as_deref() == Some(HOLD_ZONE_UNKNOWN) {
            requeue_in_place(lead, now);
        }
    }
    match patch.do_not_call {
        Some(true) if lead.status != LeadStatus::DoNotCall => {
            if lead.status.is_active() {
                return Err(LeadError::Conflict("a call to this lead is in progress; try again when it ends".into()));
            }
            lead.status.transition(LeadStatus::DoNotCall).map_err(|e| LeadError::Unprocessable(e.to_string()))?;
            lead.status = LeadStatus::DoNotCall;
            lead.next_attempt_at = None;
            lead.callback = false;
            extra.push(repo::dnc::add_op(&lead.phone, "marked by an admin", now));
        }
        Some(false) if lead.status == LeadStatus::DoNotCall => {
            requeue_in_place(lead, now);
            extra.push(repo::dnc::remove_op(&lead.phone));
        }
        _ => {}
    }
    lead.updated_at = now;
    Ok(extra)
}

/// Updates a lead (optimistic concurrency, retried on a lost race).
/// Salespeople may change only the notes of their own leads.
pub async fn update(deps: &Deps, actor: &Actor, id: &LeadId, patch: LeadPatch) -> Result<Lead, LeadError> {
    let mut lead = load_visible(deps, actor, id).await?;
    if !actor.is_admin() && (patch.priority.is_some() || patch.timezone.is_some() || patch.do_not_call.is_some()) {
        return Err(LeadError::Forbidden("salespeople may change only a lead's notes".into()));
    }
    for attempt in 0..SAVE_ATTEMPTS {
        if attempt > 0 {
            lead = lead_repo::get(deps.store.as_ref(), id).await?.ok_or(LeadError::NotFound)?;
        }
        let now = deps.clock.now();
        let mut extra = apply_patch(&mut lead, &patch, now)?;
        let mut ops = vec![lead_repo::save_op(&mut lead)];
        ops.append(&mut extra);
        match deps.store.transact_write(ops).await {
            Ok(()) => {
                emit_updated(deps, &lead).await;
                if lead.status == LeadStatus::Queued {
                    nudge(deps).await;
                }
                return Ok(lead);
            }
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(LeadError::Conflict("the lead kept changing; try again".into()))
}

/// Deletes a lead (not while a call to it is in progress). Its calls stay.
pub async fn delete(deps: &Deps, actor: &Actor, id: &LeadId) -> Result<(), LeadError> {
    actor.require_admin()?;
    let lead = lead_repo::get(deps.store.as_ref(), id).await?.ok_or(LeadError::NotFound)?;
    if lead.status.is_active() {
        return Err(LeadError::Conflict("a call to this lead is in progress; try again when it ends".into()));
    }
    match lead_repo::delete(deps.store.as_ref(), &lead).await {
        Ok(_) => {
            tracing::info!(lead_id = %id, by = %actor.id, "lead deleted");
            Ok(())
        }
        Err(e) if e.is_condition_failed() => Err(LeadError::Conflict("the lead changed meanwhile; try again".into())),
        Err(e) => Err(e.into()),
    }
}

/// Moves the lead with this phone (if any) to do_not_call, retrying lost
/// races. Leads already invalid stay invalid.
pub(crate) async fn mark_do_not_call(deps: &Deps, phone: &Phone) -> Result<Option<Lead>, StoreError> {
    let id = LeadId::for_phone(phone);
    for _ in 0..SAVE_ATTEMPTS {
        let Some(mut lead) = lead_repo::get(deps.store.as_ref(), &id).await? else {
            return Ok(None);
        };
        if lead.status.transition(LeadStatus::DoNotCall).is_err() {
            return Ok(Some(lead));
        }
        lead.status = LeadStatus::DoNotCall;
        lead.next_attempt_at = None;
        lead.callback = false;
        lead.updated_at = deps.clock.now();
        match deps.store.transact_write(vec![lead_repo::save_op(&mut lead)]).await {
            Ok(()) => {
                emit_updated(deps, &lead).await;
                return Ok(Some(lead));
            }
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::TransactionCanceled { failed: Vec::new() })
}
