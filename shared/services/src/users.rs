//! Users as admins manage them (list, read, update, deactivate, statistics)
//! and availability, the one way a person changes their own routing state.
//!
//! Access rule: every function here is admin-only except
//! [`set_availability`], where a salesperson may target only themselves;
//! another user's id then reads as "not found" (404), never "forbidden",
//! like every salesperson-scoped resource.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{Availability, CallOutcome, EventKind, Role, User, UserId};
use ibrat_ports::store::schema::GSI1;
use ibrat_ports::{Key, Query, SkCondition, StoreError, WriteOp};
use serde::Serialize;

use crate::auth::{self, Actor, AuthError};
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo::page::{self, Page, PageToken};
use crate::repo::users::{self as repo, UserChanges, UserRecord};
use crate::repo::{calls as call_repo, keys};

/// Failures of user management, mapped to statuses by the API.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Conflict(String),
    /// The change would leave no active admin.
    #[error("the last active admin cannot be deactivated or demoted")]
    LastAdmin,
    /// Ready needs an open line: start a session first.
    #[error("start a session first: only a salesperson whose line is up can be ready")]
    NoSession,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::auth::AdminOnly> for UserError {
    fn from(e: crate::auth::AdminOnly) -> Self {
        UserError::Forbidden(e.to_string())
    }
}

impl From<AuthError> for UserError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Validation(m) => UserError::Validation(m),
            AuthError::Store(s) => UserError::Store(s),
            other => UserError::Validation(other.to_string()),
        }
    }
}

/// Filters of the user listing.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub availability: Option<Availability>,
}

/// Lists users (gsi1 `USERS`, by role then age), filtered, a page at a time.
pub async fn list(
    deps: &Deps,
    actor: &Actor,
    filter: &UserFilter,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<Page<User>, UserError> {
    actor.require_admin()?;
    let want = page::page_size(limit);
    let start = match cursor {
        None => None,
        Some(c) => Some(PageToken::decode(c).ok_or_else(|| UserError::Validation("invalid cursor".into()))?),
    };
    let mut base = Query::index(GSI1.name, keys::USERS_PK);
    if let Some(role) = filter.role {
        base = base.sk(SkCondition::BeginsWith(format!("{}#", role.as_str())));
    }
    let mut budget = page::MAX_QUERIES_PER_PAGE;
    let walk =
        page::walk(deps.store.as_ref(), &base, start.and_then(|t| t.store_cursor()), want, &mut budget, |item| {
            let rec = repo::from_item(item)?;
            let u = rec.user;
            let keep =
                filter.active.is_none_or(|a| u.active == a) && filter.availability.is_none_or(|a| u.availability == a);
            Ok(keep.then_some(u))
        })
        .await
        .map_err(cursor_error)?;
    let next_cursor = walk.next.map(|c| PageToken { part: String::new(), inner: Some(c.0) }.encode());
    Ok(Page { items: walk.items, next_cursor })
}

/// A client cursor the store cannot use is the client's mistake.
pub(crate) fn cursor_error(e: StoreError) -> UserError {
    match e {
        StoreError::Invalid(_) => UserError::Validation("invalid cursor".into()),
        other => UserError::Store(other),
    }
}

/// One user.
pub async fn get(deps: &Deps, actor: &Actor, id: &UserId) -> Result<User, UserError> {
    actor.require_admin()?;
    Ok(load(deps, id).await?.user)
}

async fn load(deps: &Deps, id: &UserId) -> Result<UserRecord, UserError> {
    repo::get(deps.store.as_ref(), id).await?.ok_or(UserError::NotFound)
}

/// The check that keeps another active admin in place while `target` stops
/// being one: a transaction with it fails if that admin changed meanwhile,
/// so two admins demoting each other at once cannot both succeed.
async fn other_admin_check(deps: &Deps, target: &UserId) -> Result<WriteOp, UserError> {
    let all = repo::list_all(deps.store.as_ref()).await?;
    let other = all
        .iter()
        .find(|r| r.user.role == Role::Admin && r.user.active && &r.user.id != target)
        .ok_or(UserError::LastAdmin)?;
    Ok(repo::still_admin_check(&other.user.id))
}

/// Changes an admin may make to a user. None leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    /// Some("") removes the phone.
    pub phone: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Updates a user. Demoting or deactivating the last active admin is
/// refused; deactivating takes the user out of call routing.
pub async fn update(deps: &Deps, actor: &Actor, id: &UserId, patch: UserPatch) -> Result<User, UserError> {
    actor.require_admin()?;
    let rec = load(deps, id).await?;
    let u = &rec.user;
    let now = deps.clock.now();
    let mut changes = UserChanges::new(now);
    if let Some(n) = &patch.name {
        changes = changes.name(&auth::check_name(n)?);
    }
    if let Some(p) = &patch.phone {
        changes = changes.phone(auth::parse_phone(deps, Some(p))?.as_ref());
    }
    let role_changes = patch.role.is_some_and(|r| r != u.role);
    let deactivates = patch.active == Some(false) && u.active;
    let activates = patch.active == Some(true) && !u.active;
    if (role_changes || deactivates) && u.availability == Availability::OnCall {
        return Err(UserError::Conflict("the user is on a call; try again when it ends".into()));
    }
    let mut availability_changed = false;
    if role_changes || deactivates || activates {
        // Out of routing until they choose to be available again.
        changes = changes.offline(id, now);
        availability_changed = u.availability != Availability::Offline;
    }
    if let Some(role) = patch.role.filter(|_| role_changes) {
        changes = changes.role(id, role, u.created_at);
    }
    if deactivates || activates {
        changes = changes.active(!deactivates);
    }
    // Only written if nobody changed availability or role since we read.
    let mut ops = vec![repo::update_if_unchanged_op(u, changes)];
    if u.role == Role::Admin && u.active && (deactivates || role_changes) {
        ops.push(other_admin_check(deps, id).await?);
    }
    match deps.store.transact_write(ops).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failed() => {
            return Err(UserError::Conflict("the user was changed meanwhile; reload and try again".into()))
        }
        Err(e) => return Err(e.into()),
    }
    if deactivates {
        tracing::info!(user_id = %id, by = %actor.id, "user deactivated");
    }
    if deactivates || role_changes {
        // Their open sockets were opened with the old rights.
        crate::realtime::revoke::close_user(deps, id).await?;
    }
    if availability_changed {
        deps.emit(EventKind::UserAvailability { user_id: id.clone(), availability: Availability::Offline }).await;
    }
    Ok(load(deps, id).await?.user)
}

/// Deactivates a user (idempotent); never the last active admin.
pub async fn deactivate(deps: &Deps, actor: &Actor, id: &UserId) -> Result<User, UserError> {
    update(deps, actor, id, UserPatch { active: Some(false), ..UserPatch::default() }).await
}

/// A salesperson's results over a period, computed from their calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserStats {
    pub user_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub calls: u64,
    pub connects: u64,
    pub talk_secs: u64,
    pub avg_talk_secs: f64,
    /// Calls by outcome (`connected`, `abandoned`, ...).
    pub outcomes: BTreeMap<String, u64>,
    /// Connected calls by the salesperson's disposition.
    pub dispositions: BTreeMap<String, u64>,
    /// True when the period held more calls than one request reads
    /// ([`MAX_STATS_CALLS`]); the figures then cover the newest ones.
    pub truncated: bool,
}

/// Most calls one statistics request reads.
pub const MAX_STATS_CALLS: usize = 20_000;

/// Per-user statistics from the user's call links (`AGENTCALL#<user>`),
/// over `[from, to]` (default: the last 30 days).
pub async fn stats(
    deps: &Deps,
    actor: &Actor,
    id: &UserId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<UserStats, UserError> {
    actor.require_admin()?;
    load(deps, id).await?;
    let to = to.unwrap_or_else(|| deps.clock.now());
    let from = match from {
        Some(from) => from,
        None => to
            .checked_sub_signed(Duration::days(30))
            .ok_or_else(|| UserError::Validation("`to` is too far in the past".into()))?,
    };
    if from > to {
        return Err(UserError::Validation("`from` must not be after `to`".into()));
    }
    let store = deps.store.as_ref();
    let q = Query::partition(keys::agent_calls_pk(id))
        .sk(SkCondition::Between(keys::ms13(from), format!("{}~", keys::ms13(to))))
        .reverse();
    let mut call_keys: Vec<Key> = Vec::new();
    let mut cursor = None;
    let mut truncated = false;
    loop {
        let page = store.query(&q.clone().limit(500).after(cursor)).await?;
        for item in &page.items {
            call_keys.extend(call_repo::link_call_key(item));
        }
        if call_keys.len() >= MAX_STATS_CALLS {
            truncated = page.cursor.is_some() || call_keys.len() > MAX_STATS_CALLS;
            call_keys.truncate(MAX_STATS_CALLS);
            break;
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut out = UserStats { user_id: id.to_string(), from, to, truncated, ..UserStats::default() };
    for item in store.batch_get(&call_keys).await? {
        let call = call_repo::from_item(&item)?;
        out.calls += 1;
        if let Some(o) = call.outcome {
            *out.outcomes.entry(o.as_str().to_owned()).or_default() += 1;
            if o == CallOutcome::Connected {
                out.connects += 1;
                out.talk_secs += call.talk_secs.unwrap_or(0) as u64;
            }
        }
        if let Some(d) = &call.disposition {
            *out.dispositions.entry(d.as_str().to_owned()).or_default() += 1;
        }
    }
    if out.connects > 0 {
        out.avg_talk_secs = out.talk_secs as f64 / out.connects as f64;
    }
    Ok(out)
}

/// Sets availability (DESIGN.md, "Users' availability"). A salesperson may
/// set only their own, and only `available` or `away`; an admin may set any
/// salesperson's to `offline`, `available` or `away`. `available` (ready)
/// needs the salesperson's session line up, checked in the same write. `on_call` and
/// `wrap_up` belong to the system. Setting the current value is a no-op (the
/// idle-since time, which orders routing, is kept). Emits
/// `UserAvailability`, and a `Nudge` when someone becomes available.
pub async fn set_availability(
    deps: &Deps,
    actor: &Actor,
    target: &UserId,
    availability: Availability,
) -> Result<User, UserError> {
    if !actor.is_admin() && &actor.id != target {
        return Err(UserError::NotFound);
    }
    if matches!(availability, Availability::OnCall | Availability::WrapUp) {
        return Err(UserError::Validation("on_call and wrap_up are set by the system".into()));
    }
    if !actor.is_admin() && !availability.is_self_selectable() {
        return Err(UserError::Forbidden("salespeople may choose only available or away".into()));
    }
    let rec = load(deps, target).await?;
    let u = &rec.user;
    if u.role != Role::Salesperson {
        return Err(UserError::Validation("only salespeople take calls".into()));
    }
    if !u.active {
        return Err(UserError::Conflict("the user is deactivated".into()));
    }
    if u.availability == availability {
        return Ok(rec.user);
    }
    if u.availability == Availability::OnCall {
        return Err(UserError::Conflict("on a call; availability changes when it ends".into()));
    }
    let ready = availability == Availability::Available;
    if ready && !crate::repo::sessions::get(deps.store.as_ref(), target).await?.is_some_and(|s| s.is_routable()) {
        return Err(UserError::NoSession);
    }
    let now = deps.clock.now();
    let updated = match repo::set_availability(deps.store.as_ref(), u, availability, now).await? {
        repo::AvailabilityChange::Changed(rec) => *rec,
        repo::AvailabilityChange::Moved => {
            return Err(UserError::Conflict("availability changed meanwhile; try again".into()));
        }
        repo::AvailabilityChange::NoLine => return Err(UserError::NoSession),
    };
    tracing::info!(user_id = %target, by = %actor.id, availability = availability.as_str(), "availability set");
    deps.emit(EventKind::UserAvailability { user_id: target.clone(), availability }).await;
    if availability == Availability::Available {
        if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), StdDuration::ZERO).await {
            tracing::warn!(error = %e, "could not queue a nudge");
        }
    }
    Ok(updated.user)
}

/// [`set_availability`] for the WebSocket client: the actor sets their own,
/// and failures come back as (code, message) for the reply.
pub async fn set_availability_for_client(
    deps: &Deps,
    user_id: &UserId,
    role: Role,
    availability: Availability,
) -> Result<(), (&'static str, String)> {
    let actor = Actor { id: user_id.clone(), role };
    set_availability(deps, &actor, user_id, availability).await.map(|_| ()).map_err(|e| (error_code(&e), e.to_string()))
}

/// The stable code of an error, shared by the REST and WebSocket faces.
pub fn error_code(e: &UserError) -> &'static str {
    match e {
        UserError::NotFound => "not_found",
        UserError::Forbidden(_) => "forbidden",
        UserError::Validation(_) => "validation_failed",
        UserError::Conflict(_) => "conflict",
        UserError::LastAdmin => "last_admin",
        UserError::NoSession => "no_session",
        UserError::Store(e) if e.is_retryable() => "unavailable",
        UserError::Store(_) => "internal",
    }
}
