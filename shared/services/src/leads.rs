//! Leads as people manage them: listing, reading with call history,
//! creating one by hand, editing, deleting, bulk reprioritize and requeue.
//!
//! Access rule: admins see and change every lead. A salesperson sees only
//! the leads of their own calls (the lead's `salesperson_id`, or a call of
//! theirs to it) and may change only those leads' notes; any other lead
//! reads as "not found" (404), so ids of other people's work leak nothing.
//! Admin-only operations answer "forbidden" (403) to salespeople.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use ibrat_domain::timezone::{parse_zone, zone_for_phone};
use ibrat_domain::{Call, Email, EventKind, Lead, LeadId, LeadStatus, Phone, Priority, Role};
use ibrat_ports::store::schema::GSI1;
use ibrat_ports::{Item, Key, Query, StoreError, Update, WriteOp};
use serde::Serialize;

use crate::auth::Actor;
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo::page::{self, PageToken};
use crate::repo::{self, calls as call_repo, keys, leads as lead_repo};

/// Why a lead is held back when its zone is unknown (the API shows it).
pub const HOLD_ZONE_UNKNOWN: &str = "time zone unknown";
/// Most ids one bulk request may name.
pub const MAX_BULK: usize = 500;
/// Most calls shown with a lead.
pub const CALL_HISTORY: usize = 100;
const SAVE_ATTEMPTS: usize = 3;

/// Failures of lead operations, mapped to statuses by the API.
#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error("lead not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Validation(String),
    /// A lead with this phone number already exists.
    #[error("a lead with this phone number already exists ({0})")]
    Exists(LeadId),
    #[error("{0}")]
    Conflict(String),
    /// The lead's state does not allow this now.
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn admin_only(actor: &Actor) -> Result<(), LeadError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(LeadError::Forbidden("admins only".into()))
    }
}

fn cursor_error(e: StoreError) -> LeadError {
    match e {
        StoreError::Invalid(_) => LeadError::Validation("invalid cursor".into()),
        other => LeadError::Store(other),
    }
}

/// True when `actor` may see `lead`: admins always; a salesperson when it is
/// their lead or they had a call with it.
pub async fn can_see(deps: &Deps, actor: &Actor, lead: &Lead) -> Result<bool, StoreError> {
    if actor.is_admin() || lead.salesperson_id.as_ref() == Some(&actor.id) {
        return Ok(true);
    }
    let calls = call_repo::for_lead(deps.store.as_ref(), &lead.id, CALL_HISTORY).await?;
    Ok(calls.iter().any(|c| c.salesperson_id.as_ref() == Some(&actor.id)))
}

/// Loads a lead the actor may see (others read as not found).
async fn load_visible(deps: &Deps, actor: &Actor, id: &LeadId) -> Result<Lead, LeadError> {
    let lead = lead_repo::get(deps.store.as_ref(), id).await?.ok_or(LeadError::NotFound)?;
    if !can_see(deps, actor, &lead).await? {
        return Err(LeadError::NotFound);
    }
    Ok(lead)
}

/// Filters of the lead listing.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    pub priority: Option<Priority>,
    /// Text searched in the name (case-insensitive) and the phone digits.
    pub q: Option<String>,
}

impl LeadFilter {
    fn matches(&self, lead: &Lead) -> bool {
        if self.status.is_some_and(|s| s != lead.status) || self.priority.is_some_and(|p| p != lead.priority) {
            return false;
        }
        let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) else {
            return true;
        };
        if lead.name.to_lowercase().contains(&q.to_lowercase()) {
            return true;
        }
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        !digits.is_empty() && lead.phone.as_str().contains(&digits)
    }
}

/// A page of leads.
#[derive(Debug, Clone, Serialize)]
pub struct LeadPage {
    pub items: Vec<Lead>,
    pub next_cursor: Option<String>,
}

/// Lists leads, newest first. Admins walk the gsi1 `LEADS#<status>`
/// partitions (one status, or every status in lifecycle order with the
/// position kept in the cursor); priority and text filters apply while
/// reading. A salesperson's listing walks their call links instead.
pub async fn list(
    deps: &Deps,
    actor: &Actor,
    filter: &LeadFilter,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<LeadPage, LeadError> {
    if filter.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(LeadError::Validation("q must be at most 100 characters".into()));
    }
    let want = page::page_size(limit);
    let token = match cursor {
        None => None,
        Some(c) => Some(PageToken::decode(c).ok_or_else(|| LeadError::Validation("invalid cursor".into()))?),
    };
    if actor.role == Role::Salesperson {
        return list_for_salesperson(deps, actor, filter, want, token).await;
    }
    let statuses: Vec<LeadStatus> = match filter.status {
        Some(s) => vec![s],
        None => LeadStatus::ALL.to_vec(),
    };
    let (mut idx, mut inner) = match &token {
        None => (0, None),
        Some(t) => {
            let i = statuses
                .iter()
                .position(|s| s.as_str() == t.part)
                .ok_or_else(|| LeadError::Validation("invalid cursor".into()))?;
            (i, t.store_cursor())
        }
    };
    let store = deps.store.as_ref();
    let mut budget = page::MAX_QUERIES_PER_PAGE;
    let mut items = Vec::new();
    let mut next_cursor = None;
    while idx < statuses.len() {
        let base = Query::index(GSI1.name, keys::leads_by_status_pk(statuses[idx])).reverse();
        let walk = page::walk(store, &base, inner.take(), want - items.len(), &mut budget, |item| {
            let lead = lead_repo::from_item(item)?;
            Ok(filter.matches(&lead).then_some(lead))
        })
        .await
        .map_err(cursor_error)?;
        items.extend(walk.items);
        if walk.stopped {
            next_cursor = Some(PageToken { part: statuses[idx].as_str().into(), inner: walk.next.map(|c| c.0) });
            break;
        }
        idx += 1;
        if items.len() >= want || budget == 0 {
            next_cursor = statuses.get(idx).map(|s| PageToken { part: s.as_str().into(), inner: None });
            break;
        }
    }
    Ok(LeadPage { items, next_cursor: next_cursor.map(|t| t.encode()) })
}

/// A salesperson's leads: those of their calls, newest call first. A lead
/// called twice across a page boundary can appear on both pages.
async fn list_for_salesperson(
    deps: &Deps,
    actor: &Actor,
    filter: &LeadFilter,
    want: usize,
    token: Option<PageToken>,
) -> Result<LeadPage, LeadError> {
    let store = deps.store.as_ref();
    let base = Query::partition(keys::agent_calls_pk(&actor.id)).reverse();
    let mut budget = page::MAX_QUERIES_PER_PAGE;
    let mut seen = BTreeSet::new();
    let walk = page::walk(store, &base, token.and_then(|t| t.store_cursor()), want, &mut budget, |item| {
        Ok(item.s("lead_id").filter(|id| seen.insert(id.to_string())).map(str::to_owned))
    })
    .await
    .map_err(cursor_error)?;
    let keys: Vec<Key> = walk.items.iter().map(|id| Key::new(format!("LEAD#{id}"), "LEAD")).collect();
    let mut by_id = BTreeMap::new();
    for item in store.batch_get(&keys).await? {
        let lead = lead_repo::from_item(&item)?;
        by_id.insert(lead.id.to_string(), lead);
    }
    let items = walk.items.iter().filter_map(|id| by_id.remove(id)).filter(|l| filter.matches(l)).collect();
    let next_cursor = walk.next.map(|c| PageToken { part: String::new(), inner: Some(c.0) }.encode());
    Ok(LeadPage { items, next_cursor })
}

/// A lead with its calls, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: Lead,
    pub calls: Vec<Call>,
}

/// Reads a lead with its call history (a salesperson sees only their calls).
pub async fn get(deps: &Deps, actor: &Actor, id: &LeadId) -> Result<LeadDetail, LeadError> {
    let lead = load_visible(deps, actor, id).await?;
    let mut calls = call_repo::for_lead(deps.store.as_ref(), id, CALL_HISTORY).await?;
    if !actor.is_admin() {
        calls.retain(|c| c.salesperson_id.as_ref() == Some(&actor.id));
    }
    Ok(LeadDetail { lead, calls })
}

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
    admin_only(actor)?;
    let name = input.name.trim().to_owned();
    if name.chars().count() > 200 {
        return Err(LeadError::Validation("name must be at most 200 characters".into()));
    }
    let phone =
        Phone::parse(&input.phone, deps.config.default_region).map_err(|e| LeadError::Validation(e.to_string()))?;
    let email = match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(e) => Some(Email::parse(e).map_err(|e| LeadError::Validation(e.to_string()))?),
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

async fn emit_updated(deps: &Deps, lead: &Lead) {
    deps.emit(EventKind::LeadUpdated {
        lead_id: lead.id.clone(),
        status: lead.status,
        priority: lead.priority,
        salesperson_id: lead.salesperson_id.clone(),
        next_attempt_at: lead.next_attempt_at,
    })
    .await;
}

async fn nudge(deps: &Deps) {
    if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), StdDuration::ZERO).await {
        tracing::warn!(error = %e, "could not queue a nudge");
    }
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

/// The do-not-call entry's write inside a transaction: created if absent,
/// left as is (original date) if present.
pub(crate) fn dnc_upsert_op(phone: &Phone, reason: &str, now: DateTime<Utc>) -> WriteOp {
    let item = repo::dnc::to_item(phone, Some(reason), now);
    let mut update = Update::new();
    for (name, value) in item.0 {
        if name != "pk" && name != "sk" {
            update = update.set_if_absent(name, value);
        }
    }
    WriteOp::Update { key: keys::dnc(phone.as_str()), update, condition: None }
}

/// Puts the lead back in line: queued now when its zone is known, else
/// pending with the reason shown.
fn requeue_in_place(lead: &mut Lead, now: DateTime<Utc>) {
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
            extra.push(dnc_upsert_op(&lead.phone, "marked by an admin", now));
        }
        Some(false) if lead.status == LeadStatus::DoNotCall => {
            requeue_in_place(lead, now);
            extra.push(WriteOp::Delete { key: keys::dnc(lead.phone.as_str()), condition: None });
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
    admin_only(actor)?;
    let lead = lead_repo::get(deps.store.as_ref(), id).await?.ok_or(LeadError::NotFound)?;
    if lead.status.is_active() {
        return Err(LeadError::Conflict("a call to this lead is in progress; try again when it ends".into()));
    }
    match deps.store.delete(&keys::lead(id), Some(ibrat_ports::Condition::version(lead.version))).await {
        Ok(_) => {
            tracing::info!(lead_id = %id, by = %actor.id, "lead deleted");
            Ok(())
        }
        Err(e) if e.is_condition_failed() => Err(LeadError::Conflict("the lead changed meanwhile; try again".into())),
        Err(e) => Err(e.into()),
    }
}

/// One lead a bulk request did not change, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

/// What a bulk request did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BulkResult {
    pub updated: u64,
    pub not_found: Vec<String>,
    pub skipped: Vec<Skipped>,
    /// Leads that changed while the request ran; send them again.
    pub conflicts: Vec<String>,
}

async fn bulk(
    deps: &Deps,
    actor: &Actor,
    ids: &[String],
    mut change: impl FnMut(&mut Lead, DateTime<Utc>) -> Result<(), String>,
) -> Result<BulkResult, LeadError> {
    admin_only(actor)?;
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(LeadError::Validation(format!("ids must hold 1 to {MAX_BULK} lead ids")));
    }
    let mut out = BulkResult::default();
    let mut wanted = BTreeSet::new();
    for raw in ids {
        match LeadId::parse(raw) {
            Ok(id) => {
                wanted.insert(id);
            }
            Err(_) => out.not_found.push(raw.clone()),
        }
    }
    let keys: Vec<Key> = wanted.iter().map(keys::lead).collect();
    let items = deps.store.batch_get(&keys).await?;
    let now = deps.clock.now();
    let mut writes: Vec<(Item, Option<ibrat_ports::Condition>)> = Vec::new();
    let mut order = Vec::new();
    let mut found = BTreeSet::new();
    for item in &items {
        let mut lead = lead_repo::from_item(item)?;
        found.insert(lead.id.clone());
        match change(&mut lead, now) {
            Ok(()) => {
                lead.updated_at = now;
                if let WriteOp::Put { item, condition } = lead_repo::save_op(&mut lead) {
                    order.push(lead.id.to_string());
                    writes.push((item, condition));
                }
            }
            Err(reason) => out.skipped.push(Skipped { id: lead.id.to_string(), reason }),
        }
    }
    out.not_found.extend(wanted.iter().filter(|id| !found.contains(*id)).map(|id| id.to_string()));
    if !writes.is_empty() {
        for (id, result) in order.into_iter().zip(deps.store.put_many(writes).await?) {
            match result {
                Ok(()) => out.updated += 1,
                Err(_) => out.conflicts.push(id),
            }
        }
    }
    Ok(out)
}

/// Sets the priority of many leads (their queue position follows).
pub async fn bulk_reprioritize(
    deps: &Deps,
    actor: &Actor,
    ids: &[String],
    priority: Priority,
) -> Result<BulkResult, LeadError> {
    let out = bulk(deps, actor, ids, |lead, _| {
        if lead.priority == priority {
            return Err(format!("already {}", priority.as_str()));
        }
        lead.priority = priority;
        Ok(())
    })
    .await?;
    tracing::info!(by = %actor.id, updated = out.updated, "bulk reprioritize");
    Ok(out)
}

/// Queues many leads to be dialed now. Leads in a call, invalid, on the
/// do-not-call list, already queued or without a time zone are skipped; a
/// lead that had used all its attempts starts counting again.
pub async fn bulk_requeue(deps: &Deps, actor: &Actor, ids: &[String]) -> Result<BulkResult, LeadError> {
    let out = bulk(deps, actor, ids, |lead, now| requeue_check(lead).map(|()| requeue_now(lead, now))).await?;
    tracing::info!(by = %actor.id, updated = out.updated, "bulk requeue");
    if out.updated > 0 {
        nudge(deps).await;
    }
    Ok(out)
}

/// Why a lead cannot be requeued, if it cannot.
fn requeue_check(lead: &Lead) -> Result<(), String> {
    match lead.status {
        LeadStatus::Queued => Err("already queued".into()),
        s if s.is_active() => Err("a call is in progress".into()),
        LeadStatus::Invalid => Err("the number is invalid".into()),
        LeadStatus::DoNotCall => Err("the number is on the do-not-call list".into()),
        _ if lead.timezone.is_none() => Err(HOLD_ZONE_UNKNOWN.into()),
        s => s.transition(LeadStatus::Queued).map(|_| ()).map_err(|e| e.to_string()),
    }
}

fn requeue_now(lead: &mut Lead, now: DateTime<Utc>) {
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
