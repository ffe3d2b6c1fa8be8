//! Calls as people see them: listing and reading, the salesperson's
//! disposition after a conversation, and an admin's manual dial.
//!
//! Access rule: admins see every call. A salesperson sees only calls they
//! took; another call reads as "not found" (404). Asking the listing for
//! someone else's calls is "forbidden" (403), like every admin-only action.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ibrat_domain::{
    Availability, Call, CallId, CallOutcome, Disposition, DispositionRecord, EventKind, Lead, LeadId, LeadStatus, Role,
    TransitionError, UserId,
};
use ibrat_ports::store::schema::{GSI1, GSI3};
use ibrat_ports::{Query, QueueError, SkCondition, StoreError, WriteOp};
use serde::Serialize;

use crate::auth::Actor;
use crate::context::Deps;
use crate::leads::{self, LeadError};
use crate::messages::QueueMessage;
use crate::repo::page::{self, Page, PageToken};
use crate::repo::{calls as repo, keys, leads as lead_repo, users as user_repo};

/// Longest time range one listing may cover.
pub const MAX_RANGE_DAYS: i64 = 92;
/// How far ahead a callback may be booked.
pub const MAX_CALLBACK_DAYS: i64 = 90;
const SAVE_ATTEMPTS: usize = 3;
/// Refusal of a range whose default end cannot be computed.
const OUT_OF_RANGE: &str = "`to` is too far in the past";

/// Failures of call operations, mapped to statuses by the API.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Conflict(String),
    /// The call's or lead's state does not allow this.
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<LeadError> for CallError {
    fn from(e: LeadError) -> Self {
        match e {
            LeadError::NotFound => CallError::NotFound("lead"),
            LeadError::Forbidden(m) => CallError::Forbidden(m),
            LeadError::Validation(m) => CallError::Validation(m),
            e @ (LeadError::Phone(_) | LeadError::Email(_)) => CallError::Validation(e.to_string()),
            LeadError::Exists(id) => CallError::Conflict(format!("lead {id} exists")),
            LeadError::Conflict(m) => CallError::Conflict(m),
            LeadError::Unprocessable(m) => CallError::Unprocessable(m),
            LeadError::Store(s) => CallError::Store(s),
        }
    }
}

fn cursor_error(e: StoreError) -> CallError {
    match e {
        StoreError::Invalid(_) => CallError::Validation("invalid cursor".into()),
        other => CallError::Store(other),
    }
}

/// Filters of the call listing.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// Start of the range (default: seven days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// End of the range (default: now).
    pub to: Option<DateTime<Utc>>,
    pub salesperson_id: Option<UserId>,
    pub lead_id: Option<LeadId>,
    pub outcome: Option<CallOutcome>,
}

/// Lists calls, newest first: by lead (gsi3 `LEADCALLS#`), by salesperson
/// (`AGENTCALL#` links) or by day (gsi1 `CALLS#<day>`, day by day with the
/// position kept in the cursor).
pub async fn list(
    deps: &Deps,
    actor: &Actor,
    filter: &CallFilter,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<Page<Call>, CallError> {
    let mut filter = filter.clone();
    if actor.role == Role::Salesperson {
        if filter.salesperson_id.as_ref().is_some_and(|s| s != &actor.id) {
            return Err(CallError::Forbidden("salespeople may list only their own calls".into()));
        }
        filter.salesperson_id = Some(actor.id.clone());
    }
    let to = filter.to.unwrap_or_else(|| deps.clock.now());
    let from = match filter.from {
        Some(from) => from,
        None => to.checked_sub_signed(Duration::days(7)).ok_or_else(|| CallError::Validation(OUT_OF_RANGE.into()))?,
    };
    if from > to {
        return Err(CallError::Validation("`from` must not be after `to`".into()));
    }
    if to.signed_duration_since(from) > Duration::days(MAX_RANGE_DAYS) {
        return Err(CallError::Validation(format!("the range may cover at most {MAX_RANGE_DAYS} days")));
    }
    let want = page::page_size(limit);
    let token = match cursor {
        None => None,
        Some(c) => Some(PageToken::decode(c).ok_or_else(|| CallError::Validation("invalid cursor".into()))?),
    };
    let range = SkCondition::Between(keys::ms13(from), format!("{}~", keys::ms13(to)));
    let store = deps.store.as_ref();
    let mut budget = page::MAX_QUERIES_PER_PAGE;
    let keep = |c: &Call| {
        filter.outcome.is_none_or(|o| c.outcome == Some(o))
            && filter.lead_id.as_ref().is_none_or(|l| &c.lead_id == l)
            && filter.salesperson_id.as_ref().is_none_or(|s| c.salesperson_id.as_ref() == Some(s))
    };
    if let Some(lead) = &filter.lead_id {
        let base = Query::index(GSI3.name, keys::lead_calls_pk(lead)).sk(range).reverse();
        let walk = page::walk(store, &base, token.and_then(|t| t.store_cursor()), want, &mut budget, |item| {
            let call = repo::from_item(item)?;
            Ok(keep(&call).then_some(call))
        })
        .await
        .map_err(cursor_error)?;
        let next_cursor = walk.next.map(|c| PageToken { part: String::new(), inner: Some(c.0) }.encode());
        return Ok(Page { items: walk.items, next_cursor });
    }
    if let Some(sp) = &filter.salesperson_id {
        let base = Query::partition(keys::agent_calls_pk(sp)).sk(range).reverse();
        let walk = page::walk(store, &base, token.and_then(|t| t.store_cursor()), want, &mut budget, |item| {
            Ok(repo::link_call_key(item))
        })
        .await
        .map_err(cursor_error)?;
        let mut items = Vec::new();
        for item in store.batch_get(&walk.items).await? {
            let call = repo::from_item(&item)?;
            if keep(&call) {
                items.push(call);
            }
        }
        items.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        let next_cursor = walk.next.map(|c| PageToken { part: String::new(), inner: Some(c.0) }.encode());
        return Ok(Page { items, next_cursor });
    }
    // Day partitions from the newest day back to the oldest.
    let first_day = from.date_naive();
    let mut day: NaiveDate = to.date_naive();
    let mut inner = None;
    if let Some(t) = token {
        day = NaiveDate::parse_from_str(&t.part, "%Y-%m-%d")
            .ok()
            .filter(|d| *d >= first_day && *d <= to.date_naive())
            .ok_or_else(|| CallError::Validation("invalid cursor".into()))?;
        inner = t.store_cursor();
    }
    let mut items = Vec::new();
    let mut next_cursor = None;
    loop {
        let day_key = day.format("%Y-%m-%d").to_string();
        let base = Query::index(GSI1.name, keys::calls_by_day_pk(&day_key)).sk(range.clone()).reverse();
        let walk = page::walk(store, &base, inner.take(), want - items.len(), &mut budget, |item| {
            let call = repo::from_item(item)?;
            Ok(keep(&call).then_some(call))
        })
        .await
        .map_err(cursor_error)?;
        items.extend(walk.items);
        if walk.stopped {
            next_cursor = Some(PageToken { part: day_key, inner: walk.next.map(|c| c.0) });
            break;
        }
        let Some(prev) = day.pred_opt().filter(|d| *d >= first_day) else {
            break;
        };
        day = prev;
        if items.len() >= want || budget == 0 {
            next_cursor = Some(PageToken { part: day.format("%Y-%m-%d").to_string(), inner: None });
            break;
        }
    }
    Ok(Page { items, next_cursor: next_cursor.map(|t| t.encode()) })
}

/// Reads a call the actor may see.
pub async fn get(deps: &Deps, actor: &Actor, id: &CallId) -> Result<Call, CallError> {
    let call = repo::get(deps.store.as_ref(), id).await?.ok_or(CallError::NotFound("call"))?;
    if !actor.is_admin() && call.salesperson_id.as_ref() != Some(&actor.id) {
        return Err(CallError::NotFound("call"));
    }
    Ok(call)
}

/// Applies a disposition's consequence to the lead; returns the extra write
/// (the do-not-call entry) it needs.
fn lead_follows(
    lead: &mut Lead,
    disposition: &Disposition,
    salesperson: Option<&UserId>,
    now: DateTime<Utc>,
) -> Result<Option<WriteOp>, CallError> {
    let target = match disposition {
        Disposition::CallBack { .. } => Some(LeadStatus::RetryScheduled),
        Disposition::DoNotCall => Some(LeadStatus::DoNotCall),
        Disposition::WrongNumber => Some(LeadStatus::Invalid),
        Disposition::Interested | Disposition::NotInterested => None,
    };
    if let Some(to) = target {
        match lead.status.transition(to) {
            Ok(_) | Err(TransitionError::Unchanged(_)) => lead.status = to,
            Err(e) => return Err(CallError::Unprocessable(format!("the lead cannot follow: {e}"))),
        }
    }
    let mut extra = None;
    match disposition {
        Disposition::CallBack { at } => {
            lead.next_attempt_at = Some(*at);
            lead.callback = true;
        }
        Disposition::DoNotCall => {
            lead.next_attempt_at = None;
            lead.callback = false;
            extra = Some(crate::repo::dnc::add_op(&lead.phone, "asked by the lead", now));
        }
        Disposition::WrongNumber => {
            lead.next_attempt_at = None;
            lead.callback = false;
        }
        Disposition::Interested | Disposition::NotInterested => {}
    }
    if let Some(sp) = salesperson {
        lead.salesperson_id = Some(sp.clone());
    }
    lead.updated_at = now;
    Ok(extra)
}

/// Records what a salesperson concluded about a connected call (DESIGN.md,
/// "Salesperson disposition"): only the call's salesperson or an admin, and
/// only once the call has ended connected. Every disposition is kept (who,
/// when, what); the last is the call's current one. Only the lead's current
/// call moves the lead, and never while the lead is on a live call: a
/// disposition on an older call is recorded on that call alone. A callback
/// schedules the lead (ahead of every priority) at that time; do-not-call
/// lists the number and the lead; wrong number makes the lead invalid. It
/// also ends the salesperson's wrap-up early (when their line is up).
pub async fn record_disposition(
    deps: &Deps,
    actor: &Actor,
    call_id: &CallId,
    disposition: Disposition,
    notes: Option<String>,
) -> Result<Call, CallError> {
    if notes.as_ref().is_some_and(|n| n.chars().count() > 5000) {
        return Err(CallError::Validation("notes must be at most 5000 characters".into()));
    }
    let now = deps.clock.now();
    if let Disposition::CallBack { at } = &disposition {
        if *at <= now || *at > now + Duration::days(MAX_CALLBACK_DAYS) {
            return Err(CallError::Validation(format!(
                "callback time must be in the future and within {MAX_CALLBACK_DAYS} days"
            )));
        }
    }
    let mut saved = None;
    for _ in 0..SAVE_ATTEMPTS {
        let mut call = get(deps, actor, call_id).await?;
        if !call.status.is_terminal() {
            return Err(CallError::Conflict("the call is still in progress; record the outcome when it ends".into()));
        }
        if call.outcome != Some(CallOutcome::Connected) {
            return Err(CallError::Unprocessable("only a connected call has an outcome to record".into()));
        }
        call.disposition = Some(disposition.clone());
        if let Some(n) = &notes {
            call.notes = Some(n.clone());
        }
        call.dispositions.push(DispositionRecord {
            by: actor.id.clone(),
            at: now,
            disposition: disposition.clone(),
            notes: notes.clone(),
        });
        let mut ops = vec![repo::save_op(&mut call)];
        let mut lead = lead_repo::get(deps.store.as_ref(), &call.lead_id)
            .await?
            .filter(|l| l.last_call_id.as_ref() == Some(&call.id) && !l.status.is_active());
        if let Some(lead) = lead.as_mut() {
            let extra = lead_follows(lead, &disposition, call.salesperson_id.as_ref(), now)?;
            ops.push(lead_repo::save_op(lead));
            ops.extend(extra);
        }
        match deps.store.transact_write(ops).await {
            Ok(()) => {
                saved = Some((call, lead));
                break;
            }
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let Some((call, lead)) = saved else {
        return Err(CallError::Conflict("the call kept changing; try again".into()));
    };
    tracing::info!(call_id = %call.id, by = %actor.id, outcome = disposition.as_str(), "disposition recorded");
    if let Some(lead) = &lead {
        deps.emit(EventKind::lead_updated(lead)).await;
    }
    if let Some(sp) = &call.salesperson_id {
        end_wrap_up_early(deps, sp).await?;
    }
    Ok(call)
}

/// A salesperson in wrap-up with their line up becomes available at once
/// (one transaction: if they moved on or lost their line meanwhile,
/// nothing happens).
async fn end_wrap_up_early(deps: &Deps, sp: &UserId) -> Result<(), CallError> {
    let now = deps.clock.now();
    if !user_repo::end_wrap_up_now(deps.store.as_ref(), sp, now).await? {
        return Ok(());
    }
    deps.emit(EventKind::UserAvailability { user_id: sp.clone(), availability: Availability::Available }).await;
    if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), StdDuration::ZERO).await {
        tracing::warn!(error = %e, "could not queue a nudge");
    }
    Ok(())
}

/// [`record_disposition`] for the WebSocket client; failures come back as
/// (code, message) for the reply.
pub async fn record_disposition_for_client(
    deps: &Deps,
    user_id: &UserId,
    role: Role,
    call_id: &CallId,
    disposition: Disposition,
    notes: Option<String>,
) -> Result<(), (&'static str, String)> {
    let actor = Actor { id: user_id.clone(), role };
    record_disposition(deps, &actor, call_id, disposition, notes)
        .await
        .map(|_| ())
        .map_err(|e| (error_code(&e), e.to_string()))
}

/// The stable code of an error, shared by the REST and WebSocket faces.
pub fn error_code(e: &CallError) -> &'static str {
    match e {
        CallError::NotFound(_) => "not_found",
        CallError::Forbidden(_) => "forbidden",
        CallError::Validation(_) => "validation_failed",
        CallError::Conflict(_) => "conflict",
        CallError::Unprocessable(_) => "unprocessable",
        CallError::Store(e) if e.is_retryable() => "unavailable",
        CallError::Queue(e) if e.is_retryable() => "unavailable",
        CallError::Store(_) | CallError::Queue(_) => "internal",
    }
}

/// What a manual dial request did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Initiated {
    pub lead_id: LeadId,
    /// The lead's status when the dial was queued.
    pub status: LeadStatus,
}

/// Dials a lead now (admin): the lead is made dialable if it had finished,
/// then a `Dial { manual: true }` goes on the queue, the same path automatic
/// calls take; the dialer still applies the calling window and the
/// do-not-call list.
pub async fn initiate(deps: &Deps, actor: &Actor, lead_id: &LeadId) -> Result<Initiated, CallError> {
    if !actor.is_admin() {
        return Err(CallError::Forbidden("admins only".into()));
    }
    let lead = leads::ready_for_manual_dial(deps, lead_id).await?;
    let body = QueueMessage::Dial { lead_id: lead_id.clone(), manual: true }.to_body();
    deps.queue.send(&body, StdDuration::ZERO).await?;
    tracing::info!(lead_id = %lead_id, by = %actor.id, "manual dial queued");
    Ok(Initiated { lead_id: lead.id, status: lead.status })
}
