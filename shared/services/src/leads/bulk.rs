//! Bulk actions over many leads at once: reprioritize and requeue. Each
//! lead is saved with its own version check; the ones that changed
//! meanwhile come back as conflicts.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use ibrat_domain::{Lead, LeadId, Priority};
use ibrat_ports::{Item, Key};
use serde::Serialize;

use super::requeue::{requeue_check, requeue_now};
use super::{nudge, LeadError, MAX_BULK};
use crate::auth::Actor;
use crate::context::Deps;
use crate::repo::{keys, leads as lead_repo};

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
    actor.require_admin()?;
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
                order.push(lead.id.to_string());
                writes.push(lead_repo::save_put(&mut lead));
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
