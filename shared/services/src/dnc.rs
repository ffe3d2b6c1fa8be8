//! The do-not-call list (admin only). Adding a number also moves the lead
//! with that number (found through `LeadId::for_phone`, no lookup) to
//! do_not_call; the dialer's claim refuses listed numbers anyway. Removing a
//! number leaves its lead as it is: an admin requeues it deliberately.

use chrono::{DateTime, Utc};
use ibrat_domain::{LeadId, LeadStatus, Phone, PhoneError};
use ibrat_ports::{Condition, Cursor, StoreError};
use serde::Serialize;

use crate::auth::Actor;
use crate::context::Deps;
use crate::leads;
use crate::repo::dnc::{self as repo, DncEntry};
use crate::repo::keys;
use crate::repo::page::{self, Page, PageToken};

/// Failures of do-not-call operations.
#[derive(Debug, thiserror::Error)]
pub enum DncError {
    #[error("number not on the do-not-call list")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Validation(String),
    #[error(transparent)]
    Phone(#[from] PhoneError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::auth::AdminOnly> for DncError {
    fn from(e: crate::auth::AdminOnly) -> Self {
        DncError::Forbidden(e.to_string())
    }
}

fn parse(deps: &Deps, phone: &str) -> Result<Phone, DncError> {
    Ok(Phone::parse(phone, deps.config.default_region)?)
}

/// What adding did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DncAdded {
    pub phone: String,
    /// False when the number was already listed (nothing changed).
    pub created: bool,
    pub added_at: DateTime<Utc>,
    /// The lead with this number, when there is one.
    pub lead_id: Option<LeadId>,
    pub lead_status: Option<LeadStatus>,
}

/// Lists a number (idempotent) and moves its lead to do_not_call.
pub async fn add(deps: &Deps, actor: &Actor, phone: &str, reason: Option<&str>) -> Result<DncAdded, DncError> {
    actor.require_admin()?;
    let phone = parse(deps, phone)?;
    if reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(DncError::Validation("reason must be at most 500 characters".into()));
    }
    let now = deps.clock.now();
    let item = repo::to_item(&phone, reason.map(str::trim).filter(|r| !r.is_empty()), now);
    let created = match deps.store.put(item, Some(Condition::not_exists())).await {
        Ok(()) => true,
        Err(StoreError::ConditionFailed { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    let lead = leads::mark_do_not_call(deps, &phone).await?;
    tracing::info!(by = %actor.id, created, "number added to the do-not-call list");
    Ok(DncAdded {
        phone: phone.to_string(),
        created,
        added_at: now,
        lead_id: lead.as_ref().map(|l| l.id.clone()),
        lead_status: lead.map(|l| l.status),
    })
}

/// Takes a number off the list.
pub async fn remove(deps: &Deps, actor: &Actor, phone: &str) -> Result<(), DncError> {
    actor.require_admin()?;
    let phone = parse(deps, phone)?;
    match deps.store.delete(&keys::dnc(phone.as_str()), Some(Condition::exists())).await {
        Ok(_) => {
            tracing::info!(by = %actor.id, "number removed from the do-not-call list");
            Ok(())
        }
        Err(StoreError::ConditionFailed { .. }) => Err(DncError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Lists numbers, newest first.
pub async fn list(
    deps: &Deps,
    actor: &Actor,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<Page<DncEntry>, DncError> {
    actor.require_admin()?;
    let start: Option<Cursor> = match cursor {
        None => None,
        Some(c) => PageToken::decode(c).ok_or_else(|| DncError::Validation("invalid cursor".into()))?.store_cursor(),
    };
    let (items, next) = match repo::list(deps.store.as_ref(), page::page_size(limit), start).await {
        Ok(v) => v,
        Err(StoreError::Invalid(_)) => return Err(DncError::Validation("invalid cursor".into())),
        Err(e) => return Err(e.into()),
    };
    Ok(Page { items, next_cursor: next.map(|c| PageToken { part: String::new(), inner: Some(c.0) }.encode()) })
}
