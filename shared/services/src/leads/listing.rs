//! Listing leads a page at a time, and reading one with its calls.

use std::collections::{BTreeMap, BTreeSet};

use ibrat_domain::{Call, Lead, LeadId, LeadStatus, Priority, Role};
use ibrat_ports::store::schema::GSI1;
use ibrat_ports::{Key, Query, StoreError};
use serde::Serialize;

use super::{load_visible, LeadError, CALL_HISTORY};
use crate::auth::Actor;
use crate::context::Deps;
use crate::repo::page::{self, Page, PageToken};
use crate::repo::{calls as call_repo, keys, leads as lead_repo};

fn cursor_error(e: StoreError) -> LeadError {
    match e {
        StoreError::Invalid(_) => LeadError::Validation("invalid cursor".into()),
        other => LeadError::Store(other),
    }
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
) -> Result<Page<Lead>, LeadError> {
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
    Ok(Page { items, next_cursor: next_cursor.map(|t| t.encode()) })
}

/// A salesperson's leads: those of their calls, newest call first. A lead
/// called twice across a page boundary can appear on both pages.
async fn list_for_salesperson(
    deps: &Deps,
    actor: &Actor,
    filter: &LeadFilter,
    want: usize,
    token: Option<PageToken>,
) -> Result<Page<Lead>, LeadError> {
    let store = deps.store.as_ref();
    let base = Query::partition(keys::agent_calls_pk(&actor.id)).reverse();
    let mut budget = page::MAX_QUERIES_PER_PAGE;
    let mut seen = BTreeSet::new();
    let walk = page::walk(store, &base, token.and_then(|t| t.store_cursor()), want, &mut budget, |item| {
        Ok(call_repo::link_lead_id(item).filter(|id| seen.insert(id.to_string())).map(str::to_owned))
    })
    .await
    .map_err(cursor_error)?;
    let keys: Vec<Key> = walk.items.iter().filter_map(|id| LeadId::parse(id).ok()).map(|id| keys::lead(&id)).collect();
    let mut by_id = BTreeMap::new();
    for item in store.batch_get(&keys).await? {
        let lead = lead_repo::from_item(&item)?;
        by_id.insert(lead.id.to_string(), lead);
    }
    let items = walk.items.iter().filter_map(|id| by_id.remove(id)).filter(|l| filter.matches(l)).collect();
    let next_cursor = walk.next.map(|c| PageToken { part: String::new(), inner: Some(c.0) }.encode());
    Ok(Page { items, next_cursor })
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
