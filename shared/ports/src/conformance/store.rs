//! The store conformance suite: every `Store` adapter runs it, so local mode
//! (redb) and production (DynamoDB) agree on every semantic the services
//! rely on (conditions, counters, indexes, pagination, transactions, TTL).
//!
//! Each check writes only under its own random key prefix (and index
//! partitions under the same prefix), so checks can run in turn or at once
//! against one shared table, and leftovers of earlier runs never interfere.
//! A failing check panics with a message naming what differed.

mod items;
mod queries;
mod ttl;
mod writes;

pub use items::{
    concurrent_counters, conditions_hold_and_fail, conditions_on_absent_items, invalid_requests_are_refused,
    round_trip, update_actions, update_upserts, version_conditions,
};
pub use queries::{
    pagination_yields_every_item_once, query_base_table, query_each_index, sparse_indexes_follow_their_keys,
};
pub use ttl::expired_items_are_absent;
pub use writes::{
    batch_get_many_and_missing, batch_write_puts_and_deletes, put_many_mixed_conditions, transaction_limits,
    transactions_apply_every_op, transactions_are_all_or_nothing,
};

use crate::store::{Cursor, Item, Key, Query, Store, StoreError};
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs every check in turn; panics on the first failure.
pub async fn run_all(store: Arc<dyn Store>) {
    round_trip(&store).await;
    update_upserts(&store).await;
    update_actions(&store).await;
    conditions_hold_and_fail(&store).await;
    conditions_on_absent_items(&store).await;
    version_conditions(&store).await;
    concurrent_counters(&store).await;
    invalid_requests_are_refused(&store).await;
    query_base_table(&store).await;
    query_each_index(&store).await;
    pagination_yields_every_item_once(&store).await;
    sparse_indexes_follow_their_keys(&store).await;
    transactions_are_all_or_nothing(&store).await;
    transactions_apply_every_op(&store).await;
    transaction_limits(&store).await;
    batch_write_puts_and_deletes(&store).await;
    batch_get_many_and_missing(&store).await;
    put_many_mixed_conditions(&store).await;
    expired_items_are_absent(&store).await;
}

/// A key prefix no other check, run or process will use: the check's name,
/// the time in nanoseconds, the process id and a counter.
pub fn unique_prefix(check: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("conformance-{check}-{nanos:x}-{:x}-{n}", std::process::id())
}

/// Now, in epoch seconds (the unit of the TTL attribute).
fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Unwraps a store result, naming the step on failure.
fn ok<T>(result: Result<T, StoreError>, step: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{step}: expected success, got {e:?}"),
    }
}

/// Asserts a single write failed its condition, carrying `want` (the item as
/// it was, or None when absent).
fn assert_condition_failed<T: Debug>(result: Result<T, StoreError>, want: Option<&Item>, step: &str) {
    match result {
        Err(StoreError::ConditionFailed { item }) => {
            assert_eq!(item.as_deref(), want, "{step}: ConditionFailed carries the wrong item")
        }
        other => panic!("{step}: expected ConditionFailed, got {other:?}"),
    }
}

/// Asserts a request was refused as `Invalid`.
fn assert_invalid<T: Debug>(result: Result<T, StoreError>, step: &str) {
    match result {
        Err(StoreError::Invalid(_)) => {}
        other => panic!("{step}: expected Invalid, got {other:?}"),
    }
}

/// Asserts an item is (or is not) readable, with exactly this content.
async fn assert_item(store: &dyn Store, key: &Key, want: Option<&Item>, step: &str) {
    let got = ok(store.get(key).await, step);
    assert_eq!(got.as_ref(), want, "{step}: get({key:?}) returned the wrong item");
}

/// Follows cursors until the query is exhausted, returning every page
/// (a last page may be empty when the adapter could not tell it was last).
async fn all_pages(store: &dyn Store, query: Query, step: &str) -> Vec<Vec<Item>> {
    let mut pages = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..1000 {
        let page = ok(store.query(&query.clone().after(cursor.take())).await, step);
        if let Some(limit) = query.limit {
            assert!(page.items.len() <= limit, "{step}: page of {} exceeds limit {limit}", page.items.len());
        }
        let more = page.cursor.is_some();
        pages.push(page.items);
        cursor = page.cursor;
        if !more {
            return pages;
        }
    }
    panic!("{step}: pagination did not end after 1000 pages");
}

/// Every item of a query, across pages.
async fn query_all(store: &dyn Store, query: Query, step: &str) -> Vec<Item> {
    all_pages(store, query, step).await.into_iter().flatten().collect()
}

/// The sort keys of items, in order.
fn sks(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.s("sk").unwrap_or_default().to_owned()).collect()
}
