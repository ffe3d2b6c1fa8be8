//! Multi-item writes: transactions, batches and `put_many`.

use super::{assert_invalid, assert_item, ok, query_all, sks, unique_prefix};
use crate::store::{
    CancelReason, Condition, Item, Key, Query, Store, StoreError, Update, WriteOp, MAX_TRANSACTION_ITEMS,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Asserts a transaction was cancelled by exactly these failed conditions.
fn assert_cancelled(result: Result<(), StoreError>, want: Vec<CancelReason>, step: &str) {
    match result {
        Err(StoreError::TransactionCanceled { failed }) => assert_eq!(failed, want, "{step}: cancellation reasons"),
        other => panic!("{step}: expected TransactionCanceled, got {other:?}"),
    }
}

fn put(item: Item, condition: Option<Condition>) -> WriteOp {
    WriteOp::Put { item, condition }
}

/// Asserts the cancelled transactions of [`transactions_are_all_or_nothing`]
/// left everything as it was.
async fn assert_untouched(store: &dyn Store, p: &str, existing: &Item, victim: &Item, step: &str) {
    let k = |name: &str| Key::new(format!("{p}#{name}"), "ITEM");
    assert_item(store, &k("A"), None, step).await;
    assert_item(store, &k("B"), None, step).await;
    assert_item(store, &k("C"), Some(victim), step).await;
    assert_item(store, &k("E"), Some(existing), step).await;
    let idx = sks(&query_all(store, Query::index("gsi1", format!("{p}#idx")), step).await);
    assert_eq!(idx, vec!["ITEM"], "{step}: index unchanged");
}

/// A transaction whose one failing condition is anywhere in the request
/// writes nothing at all, and names the failing operation with the item as
/// it was (None when absent).
pub async fn transactions_are_all_or_nothing(store: &Arc<dyn Store>) {
    let p = unique_prefix("tx-atomic");
    let k = |name: &str| Key::new(format!("{p}#{name}"), "ITEM");
    let existing = Item::with_key(&k("E")).with("v", 1i64);
    let victim = Item::with_key(&k("C")).with("v", 1i64).with("gsi1pk", format!("{p}#idx")).with("gsi1sk", "c");
    ok(store.put(existing.clone(), None).await, "put existing");
    ok(store.put(victim.clone(), None).await, "put victim");
    let new_a = || Item::with_key(&k("A")).with("gsi1pk", format!("{p}#idx")).with("gsi1sk", "a");

    // The last of three operations fails (index 2).
    let ops = vec![
        put(new_a(), Some(Condition::not_exists())),
        WriteOp::Update { key: k("B"), update: Update::new().add("n", 1), condition: None },
        put(Item::with_key(&k("E")).with("v", 2i64), Some(Condition::not_exists())),
    ];
    assert_cancelled(
        store.transact_write(ops).await,
        vec![CancelReason { index: 2, item: Some(existing.clone()) }],
        "third op fails",
    );
    assert_untouched(&**store, &p, &existing, &victim, "after third op failed").await;

    // The middle one fails (a Check), with a delete after it.
    let ops = vec![
        put(new_a(), None),
        WriteOp::Check { key: k("E"), condition: Condition::eq("v", 2i64) },
        WriteOp::Delete { key: k("C"), condition: None },
    ];
    assert_cancelled(
        store.transact_write(ops).await,
        vec![CancelReason { index: 1, item: Some(existing.clone()) }],
        "middle check fails",
    );
    assert_untouched(&**store, &p, &existing, &victim, "after middle check failed").await;

    // The first one fails on a missing item.
    let ops = vec![
        WriteOp::Update { key: k("B"), update: Update::new().set("x", 1i64), condition: Some(Condition::exists()) },
        WriteOp::Delete { key: k("C"), condition: Some(Condition::exists()) },
    ];
    assert_cancelled(
        store.transact_write(ops).await,
        vec![CancelReason { index: 0, item: None }],
        "first op fails on a missing item",
    );
    assert_untouched(&**store, &p, &existing, &victim, "after first op failed").await;

    // Two failures: both reported or at least one, never a passing op.
    let ops = vec![
        put(new_a(), None),
        WriteOp::Check { key: k("E"), condition: Condition::not_exists() },
        WriteOp::Delete { key: k("C"), condition: Some(Condition::eq("v", 9i64)) },
    ];
    match store.transact_write(ops).await {
        Err(StoreError::TransactionCanceled { failed }) => {
            assert!(!failed.is_empty(), "two failed conditions: reasons must not be empty");
            for reason in failed {
                match reason.index {
                    1 => assert_eq!(reason.item.as_ref(), Some(&existing)),
                    2 => assert_eq!(reason.item.as_ref(), Some(&victim)),
                    other => panic!("operation {other} did not fail its condition but was reported"),
                }
            }
        }
        other => panic!("two failures: expected TransactionCanceled, got {other:?}"),
    }
    assert_untouched(&**store, &p, &existing, &victim, "after two failures").await;
}

/// A transaction whose conditions all hold applies every kind of
/// operation, indexes included, and a full-size (100 op) transaction works.
pub async fn transactions_apply_every_op(store: &Arc<dyn Store>) {
    let p = unique_prefix("tx-apply");
    let k = |name: &str| Key::new(format!("{p}#{name}"), "ITEM");
    let idx = format!("{p}#idx");
    let existing = Item::with_key(&k("E")).with("v", 1i64);
    let doomed = Item::with_key(&k("C")).with("gsi3pk", idx.as_str()).with("gsi3sk", "c");
    let counter = Item::with_key(&k("D")).with("n", 5i64);
    ok(store.batch_write(vec![existing.clone(), doomed, counter], Vec::new()).await, "setup");

    let a = Item::with_key(&k("A")).with("gsi3pk", idx.as_str()).with("gsi3sk", "a");
    let ops = vec![
        put(a.clone(), Some(Condition::not_exists())),
        WriteOp::Update {
            key: k("B"),
            update: Update::new().set("gsi3pk", idx.as_str()).set("gsi3sk", "b").add("n", 2),
            condition: Some(Condition::not_exists()),
        },
        WriteOp::Update { key: k("D"), update: Update::new().add("n", -1), condition: Some(Condition::eq("n", 5i64)) },
        WriteOp::Delete { key: k("C"), condition: Some(Condition::exists()) },
        WriteOp::Check { key: k("E"), condition: Condition::eq("v", 1i64) },
        WriteOp::Check { key: k("F"), condition: Condition::not_exists() },
    ];
    ok(store.transact_write(ops).await, "transaction");
    assert_item(&**store, &k("A"), Some(&a), "put applied").await;
    let b = Item::with_key(&k("B")).with("gsi3pk", idx.as_str()).with("gsi3sk", "b").with("n", 2i64);
    assert_item(&**store, &k("B"), Some(&b), "update upserted").await;
    assert_item(&**store, &k("D"), Some(&Item::with_key(&k("D")).with("n", 4i64)), "counter applied").await;
    assert_item(&**store, &k("C"), None, "delete applied").await;
    assert_item(&**store, &k("E"), Some(&existing), "check writes nothing").await;
    assert_item(&**store, &k("F"), None, "check creates nothing").await;
    let in_index = query_all(&**store, Query::index("gsi3", idx.as_str()), "index after transaction").await;
    assert_eq!(in_index, vec![a, b], "indexes follow a transaction");

    let items: Vec<Item> = (0..MAX_TRANSACTION_ITEMS).map(|i| Item::with_key(&k(&format!("full{i:03}")))).collect();
    let ops = items.iter().map(|i| put(i.clone(), Some(Condition::not_exists()))).collect();
    ok(store.transact_write(ops).await, "transaction of the maximum size");
    let keys: Vec<Key> = items.iter().filter_map(Item::key).collect();
    assert_eq!(ok(store.batch_get(&keys).await, "read back").len(), MAX_TRANSACTION_ITEMS);
}

/// Transactions over the size limit, empty ones, and ones touching one item
/// twice are refused as `Invalid` and write nothing.
pub async fn transaction_limits(store: &Arc<dyn Store>) {
    let p = unique_prefix("tx-limits");
    let k = |name: &str| Key::new(format!("{p}#{name}"), "ITEM");
    let too_many = (0..=MAX_TRANSACTION_ITEMS).map(|i| put(Item::with_key(&k(&format!("i{i:03}"))), None)).collect();
    assert_invalid(store.transact_write(too_many).await, "101 operations");
    assert_item(&**store, &k("i000"), None, "an oversized transaction writes nothing").await;

    assert_invalid(store.transact_write(Vec::new()).await, "empty transaction");

    let twice = vec![
        put(Item::with_key(&k("X")), None),
        WriteOp::Update { key: k("X"), update: Update::new().set("a", 1i64), condition: None },
    ];
    assert_invalid(store.transact_write(twice).await, "put and update of one item");
    let twice = vec![
        put(Item::with_key(&k("Y")), None),
        WriteOp::Check { key: k("X"), condition: Condition::not_exists() },
        WriteOp::Delete { key: k("X"), condition: None },
    ];
    assert_invalid(store.transact_write(twice).await, "check and delete of one item");
    assert_item(&**store, &k("X"), None, "refused transaction writes nothing").await;
    assert_item(&**store, &k("Y"), None, "refused transaction writes nothing").await;
}

/// Batch writes of many items (more than one request's worth) put and
/// delete, keep indexes current, and tolerate deleting missing items.
pub async fn batch_write_puts_and_deletes(store: &Arc<dyn Store>) {
    let p = unique_prefix("batch-write");
    let idx = format!("{p}#idx");
    let item = |i: usize, v: i64| {
        Item::with_key(&Key::new(format!("{p}#{i:03}"), "ITEM"))
            .with("v", v)
            .with("gsi1pk", idx.as_str())
            .with("gsi1sk", format!("{i:03}"))
    };
    let puts: Vec<Item> = (0..60).map(|i| item(i, 1)).collect();
    ok(store.batch_write(puts.clone(), Vec::new()).await, "60 puts");
    let all = query_all(&**store, Query::index("gsi1", idx.as_str()).limit(25), "index after puts").await;
    assert_eq!(all, puts, "every batch put is stored and indexed");

    let deletes: Vec<Key> = (0..10)
        .map(|i| Key::new(format!("{p}#{:03}", i * 3), "ITEM"))
        .chain([Key::new(format!("{p}#missing1"), "ITEM"), Key::new(format!("{p}#missing2"), "ITEM")])
        .collect();
    let more: Vec<Item> = (60..67).map(|i| item(i, 1)).chain((40..45).map(|i| item(i, 2))).collect();
    ok(store.batch_write(more, deletes).await, "mixed batch");

    let deleted: BTreeSet<usize> = (0..10).map(|i| i * 3).collect();
    let want: Vec<Item> =
        (0..67).filter(|i| !deleted.contains(i)).map(|i| item(i, if (40..45).contains(&i) { 2 } else { 1 })).collect();
    let all = query_all(&**store, Query::index("gsi1", idx.as_str()), "index after mixed batch").await;
    assert_eq!(all, want, "puts, overwrites and deletes are all applied");
    assert_item(&**store, &Key::new(format!("{p}#000"), "ITEM"), None, "deleted").await;

    ok(store.batch_write(Vec::new(), Vec::new()).await, "empty batch");
}

/// Batch gets of more keys than one request takes return exactly the
/// existing items, skipping missing keys; an empty request returns nothing.
pub async fn batch_get_many_and_missing(store: &Arc<dyn Store>) {
    let p = unique_prefix("batch-get");
    let items: Vec<Item> =
        (0..130).map(|i| Item::with_key(&Key::new(format!("{p}#{i:03}"), "ITEM")).with("i", i as i64)).collect();
    ok(store.batch_write(items.clone(), Vec::new()).await, "setup");
    let mut keys: Vec<Key> = items.iter().filter_map(Item::key).collect();
    keys.extend((0..40).map(|i| Key::new(format!("{p}#missing{i}"), "ITEM")));
    keys.push(Key::new(format!("{p}#000"), "OTHER"));
    let mut got = ok(store.batch_get(&keys).await, "batch_get 171 keys");
    got.sort_by_key(|i| i.key());
    assert_eq!(got, items, "batch_get returns every existing item once and no missing one");

    let none = ok(store.batch_get(&keys[130..]).await, "only missing keys");
    assert!(none.is_empty(), "missing keys return nothing");
    assert!(ok(store.batch_get(&[]).await, "no keys").is_empty());
}

/// `put_many` applies each item on its own condition and reports results
/// in request order, with the existing item (or None) for each failure.
pub async fn put_many_mixed_conditions(store: &Arc<dyn Store>) {
    let p = unique_prefix("put-many");
    let k = |name: &str| Key::new(format!("{p}#{name}"), "ITEM");
    let idx = format!("{p}#idx");
    let x = Item::with_key(&k("X")).with("v", 1i64);
    let y = Item::with_key(&k("Y")).with("v", 1i64);
    ok(store.batch_write(vec![x.clone(), y.clone()], Vec::new()).await, "setup");

    let new = |name: &str| {
        Item::with_key(&k(name)).with("v", 2i64).with("gsi2pk", idx.as_str()).with("gsi2sk", name.to_owned())
    };
    let request = vec![
        (new("A"), Some(Condition::not_exists())),
        (new("X"), Some(Condition::not_exists())),
        (new("B"), None),
        (new("Z"), Some(Condition::exists())),
        (new("Y"), Some(Condition::eq("v", 1i64))),
        (new("C"), Some(Condition::not_exists())),
    ];
    let results = ok(store.put_many(request).await, "put_many");
    assert_eq!(results, vec![Ok(()), Err(Some(x.clone())), Ok(()), Err(None), Ok(()), Ok(())], "results in order");
    assert_item(&**store, &k("A"), Some(&new("A")), "A written").await;
    assert_item(&**store, &k("X"), Some(&x), "X kept").await;
    assert_item(&**store, &k("Z"), None, "Z not created").await;
    assert_item(&**store, &k("Y"), Some(&new("Y")), "Y replaced").await;
    let indexed = sks(&query_all(&**store, Query::index("gsi2", idx.as_str()), "index").await);
    assert_eq!(indexed.len(), 4, "put_many keeps indexes current");

    let many: Vec<(Item, Option<Condition>)> = (0..300)
        .map(|i| (Item::with_key(&k(&format!("bulk{i:03}"))).with("i", i as i64), Some(Condition::not_exists())))
        .collect();
    let results = ok(store.put_many(many.clone()).await, "put_many 300");
    assert!(results.iter().all(Result::is_ok), "300 fresh items all succeed");
    let results = ok(store.put_many(many[..5].to_vec()).await, "put_many repeat");
    let want: Vec<Result<(), Option<Item>>> = many[..5].iter().map(|(i, _)| Err(Some(i.clone()))).collect();
    assert_eq!(results, want, "repeating fails each item with the existing one");
    assert!(ok(store.put_many(Vec::new()).await, "empty put_many").is_empty());
}
