//! Markers of calls in flight: one `INFLIGHT` / `<created ms13>#<call_id>`
//! item per unfinished call, written by the claim transaction and retired by
//! the finish transaction. Retiring sets the TTL attribute to now (an
//! `UpdateItem`, which every function that finishes calls may do; expired
//! items are absent to every read) rather than deleting, so the functions
//! need no `DeleteItem` permission; the table's TTL sweep removes it later. Recovery queries this partition (ascending: oldest
//! first) instead of scanning for stuck calls. The partition holds at most
//! `pacing.max_in_flight` items and sees two writes per call.

use chrono::{DateTime, Utc};
use ibrat_domain::{Call, CallId, LeadId};
use ibrat_ports::store::schema::TABLE;
use ibrat_ports::{Condition, Cursor, Item, Key, Query, SkCondition, Store, StoreError, Update, WriteOp};

use super::codec::ts;
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

/// The update that retires a marker as of `now`.
fn retire(now: DateTime<Utc>) -> Update {
    Update::new().set(TABLE.ttl, now.timestamp())
}

/// The write that retires a finished call's marker.
pub fn finish_op(call: &Call, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update { key: key(call.created_at, &call.id), update: retire(now), condition: None }
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
            })
        })
        .collect();
    Ok((markers, page.cursor))
}

/// Retires a marker whose call is missing or already finished.
pub async fn retire_orphan(store: &dyn Store, key: &Key, now: DateTime<Utc>) -> Result<(), StoreError> {
    match store.update(key, retire(now), Some(Condition::exists())).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failed() => Ok(()),
        Err(e) => Err(e),
    }
}
