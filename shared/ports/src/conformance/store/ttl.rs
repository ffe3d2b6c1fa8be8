//! Time to live: an item whose `expires_at` has passed is absent to every
//! read and every condition, even before the engine physically removes it.

use super::{assert_condition_failed, assert_item, now_secs, ok, query_all, sks, unique_prefix};
use crate::store::schema::TABLE;
use crate::store::{CancelReason, Condition, Item, Key, Query, Store, StoreError, Update, WriteOp};
use std::sync::Arc;

/// Expired items are invisible to get, batch_get, base and index queries,
/// conditions (single, transactional and put_many), and delete; a create
/// with `not_exists` over one succeeds and replaces it everywhere. A
/// non-numeric TTL attribute never expires anything.
pub async fn expired_items_are_absent(store: &Arc<dyn Store>) {
    let p = unique_prefix("ttl");
    let pk = format!("{p}#part");
    let idx = format!("{p}#idx");
    let now = now_secs();
    let k = |sk: &str| Key::new(pk.as_str(), sk);
    let indexed = |sk: &str, expires: Option<i64>| {
        Item::with_key(&k(sk)).with("gsi1pk", idx.as_str()).with("gsi1sk", sk.to_owned()).with_opt(TABLE.ttl, expires)
    };
    let expired = indexed("e", Some(now - 3600)).with("old", true);
    let fresh = indexed("f", Some(now + 3600));
    let odd = indexed("g", None).with(TABLE.ttl, "0");
    ok(store.batch_write(vec![expired.clone(), fresh.clone(), odd.clone()], Vec::new()).await, "setup");

    assert_item(&**store, &k("e"), None, "get expired").await;
    assert_item(&**store, &k("f"), Some(&fresh), "get unexpired").await;
    assert_item(&**store, &k("g"), Some(&odd), "get with non-numeric TTL").await;
    let mut got = ok(store.batch_get(&[k("e"), k("f"), k("g")]).await, "batch_get");
    got.sort_by_key(|i| i.key());
    assert_eq!(got, vec![fresh.clone(), odd.clone()], "batch_get skips expired");
    assert_eq!(sks(&query_all(&**store, Query::partition(pk.as_str()), "base").await), vec!["e", "f", "g"][1..]);
    let in_index = query_all(&**store, Query::index("gsi1", idx.as_str()).limit(1), "index").await;
    assert_eq!(in_index, vec![fresh.clone(), odd.clone()], "index queries skip expired, across pages");

    let exists = || Some(Condition::exists());
    assert_condition_failed(store.put(indexed("e", None), exists()).await, None, "put exists over expired");
    assert_condition_failed(
        store.update(&k("e"), Update::new().set("x", 1i64), exists()).await,
        None,
        "update exists over expired",
    );
    assert_condition_failed(
        store.update(&k("e"), Update::new().set("x", 1i64), Some(Condition::eq("old", true))).await,
        None,
        "condition on an expired item's attribute",
    );
    assert_condition_failed(store.delete(&k("e"), exists()).await, None, "delete exists over expired");
    match store.transact_write(vec![WriteOp::Check { key: k("e"), condition: Condition::exists() }]).await {
        Err(StoreError::TransactionCanceled { failed }) => {
            assert_eq!(failed, vec![CancelReason { index: 0, item: None }], "transaction sees expired as absent")
        }
        other => panic!("check on expired item: expected TransactionCanceled, got {other:?}"),
    }
    let results = ok(store.put_many(vec![(indexed("e", None), exists())]).await, "put_many");
    assert_eq!(results, vec![Err(None)], "put_many sees expired as absent");

    let created = indexed("e", None).with("new", true);
    ok(store.put(created.clone(), Some(Condition::not_exists())).await, "create over expired");
    assert_item(&**store, &k("e"), Some(&created), "created item replaces the expired one").await;
    let in_index = query_all(&**store, Query::index("gsi1", idx.as_str()), "index after create").await;
    assert_eq!(in_index, vec![created, fresh.clone(), odd.clone()], "the new item is indexed exactly once");

    ok(store.put(expired.clone(), None).await, "expire again");
    assert_eq!(ok(store.delete(&k("e"), None).await, "delete expired"), None, "deleting an expired item returns None");
    ok(store.put(expired, None).await, "expire again");
    let revived = ok(
        store
            .update(&k("e"), Update::new().set(TABLE.ttl, now + 3600).set("x", 1i64), Some(Condition::not_exists()))
            .await,
        "update with not_exists over expired",
    );
    assert_eq!(revived.n("x"), Some(1));
    assert_item(&**store, &k("e"), Some(&revived), "an update that renews the TTL is visible").await;
}
