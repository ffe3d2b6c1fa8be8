//! Leads as people manage them: [`listing`] (filtered pages, one lead with
//! its calls), [`editing`] (creating one by hand, changing, deleting, the
//! do-not-call mark), [`bulk`] actions (reprioritize, requeue) and
//! [`requeue`] (putting a lead back in line, for bulk and manual dials).
//!
//! Access rule: admins see and change every lead. A salesperson sees only
//! the leads of their own calls (the lead's `salesperson_id`, or a call of
//! theirs to it) and may change only those leads' notes; any other lead
//! reads as "not found" (404), so ids of other people's work leak nothing.
//! Admin-only operations answer "forbidden" (403) to salespeople.

pub mod bulk;
pub mod editing;
pub mod listing;
pub mod requeue;

use std::time::Duration as StdDuration;

use ibrat_domain::{EmailError, EventKind, Lead, LeadId, PhoneError};
use ibrat_ports::StoreError;

use crate::auth::Actor;
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo::{calls as call_repo, leads as lead_repo};

pub use bulk::{bulk_reprioritize, bulk_requeue, BulkResult, Skipped};
pub(crate) use editing::mark_do_not_call;
pub use editing::{create, delete, update, LeadPatch, NewLead};
pub use listing::{get, list, LeadDetail, LeadFilter};
pub(crate) use requeue::ready_for_manual_dial;

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
    #[error(transparent)]
    Phone(#[from] PhoneError),
    #[error(transparent)]
    Email(#[from] EmailError),
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

impl From<crate::auth::AdminOnly> for LeadError {
    fn from(e: crate::auth::AdminOnly) -> Self {
        LeadError::Forbidden(e.to_string())
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

async fn emit_updated(deps: &Deps, lead: &Lead) {
    deps.emit(EventKind::lead_updated(lead)).await;
}

async fn nudge(deps: &Deps) {
    if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), StdDuration::ZERO).await {
        tracing::warn!(error = %e, "could not queue a nudge");
    }
}
