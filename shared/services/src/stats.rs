//! The lead summary behind `GET /api/leads/stats/summary`.
//!
//! Counts by status and priority are computed by reading the gsi1
//! `LEADS#<status>` partitions page by page: always exact, never a table
//! scan, and needing no cooperation from the writers (imports, dialing),
//! which change statuses inside their own transactions. The cost grows with
//! the number of leads (one read unit per ~4 KB of leads), which suits
//! dashboards over tens of thousands of leads; at millions, `COUNTER#`
//! items updated inside those transactions would replace it. Call figures
//! come from today's `STATS#<day>` counters, kept exact by the transactions
//! that start and finish calls.

use std::collections::BTreeMap;

use ibrat_domain::{LeadStatus, Priority};
use ibrat_ports::store::schema::GSI1;
use ibrat_ports::{Query, StoreError};
use serde::Serialize;

use crate::auth::Actor;
use crate::context::Deps;
use crate::repo::{keys, stats as repo};

/// Failures of statistics.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The dashboard's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeadSummary {
    pub total: u64,
    /// Every status, zero included.
    pub by_status: BTreeMap<String, u64>,
    /// Every priority, zero included.
    pub by_priority: BTreeMap<String, u64>,
    /// The UTC day the call figures are for.
    pub day: String,
    pub calls_today: u64,
    pub connected_today: u64,
    pub abandoned_today: u64,
    /// Connected calls over finished calls today (0 with none finished).
    pub connect_rate: f64,
    /// Abandoned over answered-by-a-person (connected + abandoned) today.
    pub abandonment_rate: f64,
    /// Average seconds from a person answering to a salesperson joining.
    pub avg_wait_to_connect_secs: f64,
}

/// Computes the summary (admin only).
pub async fn summary(deps: &Deps, actor: &Actor) -> Result<LeadSummary, StatsError> {
    if !actor.is_admin() {
        return Err(StatsError::Forbidden("admins only".into()));
    }
    let store = deps.store.as_ref();
    let mut out = LeadSummary::default();
    for p in Priority::ALL {
        out.by_priority.insert(p.as_str().to_owned(), 0);
    }
    for status in LeadStatus::ALL {
        let mut count = 0u64;
        let mut cursor = None;
        let base = Query::index(GSI1.name, keys::leads_by_status_pk(status)).limit(1000);
        loop {
            let page = store.query(&base.clone().after(cursor)).await?;
            for item in &page.items {
                count += 1;
                if let Some(p) = crate::repo::leads::priority_of(item) {
                    *out.by_priority.entry(p.as_str().to_owned()).or_default() += 1;
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        out.by_status.insert(status.as_str().to_owned(), count);
        out.total += count;
    }
    let day = keys::day(deps.clock.now());
    let today = repo::get_days(store, std::slice::from_ref(&day)).await?.pop().unwrap_or_default();
    let finished = today.connected
        + today.no_answer
        + today.busy
        + today.failed
        + today.machine
        + today.abandoned
        + today.canceled;
    let answered = today.connected + today.abandoned;
    let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    out.day = day;
    out.calls_today = today.calls.max(0) as u64;
    out.connected_today = today.connected.max(0) as u64;
    out.abandoned_today = today.abandoned.max(0) as u64;
    out.connect_rate = ratio(today.connected, finished);
    out.abandonment_rate = ratio(today.abandoned, answered);
    out.avg_wait_to_connect_secs = ratio(today.wait_ms, today.connected) / 1000.0;
    Ok(out)
}
