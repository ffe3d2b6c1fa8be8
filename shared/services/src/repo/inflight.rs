//! Markers of calls in flight: one `INFLIGHT` / `<created ms13>#<call_id>`
//! item per unfinished call, written by the claim transaction and deleted by
//! the finish transaction (the functions that finish calls may delete in
//! the `INFLIGHT` partition), so recovery never reads a finished call's
//! marker again. Recovery queries this partition (ascending: oldest first)
//! instead of scanning for stuck calls, and stamps on a marker when the call
//! is next due for a check, so a long call still in progress is asked about
//! once per interval and never holds up newer ones. The partition holds at
//! most `pacing.max_in_flight` items.

use chrono::{DateTime, Utc};
use ibrat_domain::{Call, CallId, LeadId};
use ibrat_ports::{Condition, Cursor, Item, Key, Query, SkCondition, Store, StoreError, Update, WriteOp};

use super::codec::{get_ts, ts};
use super::keys::ms13;

/// The partition of in-flight markers.
pub const INFLIGHT_PK: &str = "INFLIGHT";

/// The marker key of a call.
pub fn key(created: DateTime<Utc>, call: &CallId) -> Key {
    Key::new(INFLIGHT_PK, format!("{}#{call}", ms13(created)))
}

/// The write that marks a new call in flight.
pub fn put_op(call: &Call) -> WriteOp {
    let item = Item::with_key(&key(call.created_at, &call.id))
        .with("call_id", call.id.as_str())
        .with("lead_id", call.lead_id.as_str())
        .with("created_at", ts(call.created_at));
    WriteOp::Put { item, condition: Some(Condition::not_exists()) }
}

/// When recovery next checks the call (absent: as soon as it is stale).
const NEXT_CHECK_AT: &str = "next_check_at";

/// The write that removes a finished call's marker.
pub fn finish_op(call: &Call) -> WriteOp {
    WriteOp::Delete { key: key(call.created_at, &call.id), condition: None }
}

/// One marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// The marker's own key.
    pub key: Key,
    /// None when the stored id is unreadable (the marker is then removed).
    pub call_id: Option<CallId>,
    /// The call's lead.
    pub lead_id: Option<LeadId>,
    /// Not to be checked again before this (it was in progress then).
    pub next_check_at: Option<DateTime<Utc>>,
}

/// A page of markers of calls created before `before`, oldest first.
pub async fn created_before(
    store: &dyn Store,
    before: DateTime<Utc>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<InFlight>, Option<Cursor>), StoreError> {
    let q = Query::partition(INFLIGHT_PK).sk(SkCondition::Lt(ms13(before))).limit(limit).after(cursor);
    let page = store.query(&q).await?;
    let markers = page
        .items
        .iter()
        .filter_map(|i| {
            Some(InFlight {
                key: i.key()?,
                call_id: i.s("call_id").and_then(|s| CallId::parse(s).ok()),
                lead_id: i.s("lead_id").and_then(|s| LeadId::parse(s).ok()),
                next_check_at: get_ts(i, NEXT_CHECK_AT),
            })
        })
        .collect();
    Ok((markers, page.cursor))
}

/// Removes a marker whose call is missing or already finished.
pub async fn remove_orphan(store: &dyn Store, key: &Key) -> Result<(), StoreError> {
    store.delete(key, None).await.map(|_| ())
}

/// Puts off the next check of a call still in progress until `at` (only
/// while its marker exists: a finish meanwhile wins).
pub async fn check_again_at(store: &dyn Store, key: &Key, at: DateTime<Utc>) -> Result<(), StoreError> {
    match store.update(key, Update::new().set(NEXT_CHECK_AT, ts(at)), Some(Condition::exists())).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failed() => Ok(()),
        Err(e) => Err(e),
    }
}
