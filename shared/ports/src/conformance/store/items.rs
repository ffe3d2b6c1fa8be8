//! Single-item reads and writes: round trips, updates, every condition
//! variant, optimistic versions, atomic counters, refused requests.

use super::{assert_condition_failed, assert_invalid, assert_item, ok, unique_prefix};
use crate::store::{Condition, Item, Key, Query, Store, StoreError, Update, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An item carrying every kind of value, including edge cases DynamoDB
/// accepts outside keys (empty strings and binaries, nested containers).
fn rich_item(key: &Key) -> Item {
    let mut map = BTreeMap::new();
    map.insert("inner".to_owned(), Value::L(vec![Value::N(1), Value::S("two".into()), Value::Bool(false)]));
    map.insert("empty".to_owned(), Value::M(BTreeMap::new()));
    Item::with_key(key)
        .with("s", "héllo wörld ✓")
        .with("empty_s", "")
        .with("n_max", i64::MAX)
        .with("n_min", i64::MIN + 1)
        .with("n_neg", -42i64)
        .with("n_zero", 0i64)
        .with("yes", true)
        .with("no", false)
        .with("nothing", Value::Null)
        .with("bytes", Value::B(vec![0, 1, 2, 255]))
        .with("no_bytes", Value::B(Vec::new()))
        .with("list", Value::L(vec![Value::S("a".into()), Value::N(7), Value::L(Vec::new())]))
        .with("map", Value::M(map))
}

/// Put, get, overwrite, delete: items come back exactly as written, a put
/// replaces the whole item, and deleting returns the old item once.
pub async fn round_trip(store: &Arc<dyn Store>) {
    let p = unique_prefix("round-trip");
    let key = Key::new(format!("{p}#A"), "ITEM");
    assert_item(&**store, &key, None, "get before put").await;

    let item = rich_item(&key);
    ok(store.put(item.clone(), None).await, "put rich item");
    assert_item(&**store, &key, Some(&item), "get after put").await;

    let other = Key::new(format!("{p}#A"), "OTHER");
    assert_item(&**store, &other, None, "same pk, other sk is a different item").await;

    let replacement = Item::with_key(&key).with("only", 1i64);
    ok(store.put(replacement.clone(), None).await, "overwrite");
    assert_item(&**store, &key, Some(&replacement), "put replaces every attribute").await;

    let old = ok(store.delete(&key, None).await, "delete");
    assert_eq!(old.as_ref(), Some(&replacement), "delete returns the old item");
    assert_item(&**store, &key, None, "get after delete").await;
    let again = ok(store.delete(&key, None).await, "delete again");
    assert_eq!(again, None, "deleting a missing item returns None and is not an error");
}

/// `update` on a missing item creates it from its key and the update, and
/// returns the item as stored.
pub async fn update_upserts(store: &Arc<dyn Store>) {
    let p = unique_prefix("upsert");
    let key = Key::new(format!("{p}#A"), "ITEM");
    let update = Update::new().set("name", "Ann").add("count", 3).set_if_absent("since", 100i64).remove("nothing");
    let created = ok(store.update(&key, update, None).await, "upsert");
    let want = Item::with_key(&key).with("name", "Ann").with("count", 3i64).with("since", 100i64);
    assert_eq!(created, want, "upsert returns the created item");
    assert_item(&**store, &key, Some(&want), "upserted item is stored").await;
}

/// Each update action on an existing item: set replaces, set_if_absent only
/// fills gaps, add counts from zero and accepts negatives, remove drops
/// attributes (absent ones too), and other attributes are untouched.
pub async fn update_actions(store: &Arc<dyn Store>) {
    let p = unique_prefix("update-actions");
    let key = Key::new(format!("{p}#A"), "ITEM");
    let start = Item::with_key(&key)
        .with("keep", "k")
        .with("name", "old")
        .with("first", "original")
        .with("count", 10i64)
        .with("gone", true);
    ok(store.put(start, None).await, "put start");
    let update = Update::new()
        .set("name", "new")
        .set_if_absent("first", "ignored")
        .set_if_absent("second", "filled")
        .add("count", -3)
        .add("fresh", 5)
        .remove("gone")
        .remove("never_there")
        .set_opt("maybe", Some(1i64))
        .set_opt::<i64>("keep_absent", None);
    let got = ok(store.update(&key, update, None).await, "update");
    let want = Item::with_key(&key)
        .with("keep", "k")
        .with("name", "new")
        .with("first", "original")
        .with("second", "filled")
        .with("count", 7i64)
        .with("fresh", 5i64)
        .with("maybe", 1i64);
    assert_eq!(got, want, "update returns the new item");
    assert_item(&**store, &key, Some(&want), "update is stored").await;

    let nested = Value::M([("a".to_owned(), Value::L(vec![Value::N(1)]))].into_iter().collect());
    let got = ok(store.update(&key, Update::new().set("name", nested.clone()), None).await, "set a map");
    assert_eq!(got.get("name"), Some(&nested), "set can change an attribute's type");
}

/// A row of the condition table: the condition and whether it holds on
/// [`condition_subject`].
fn condition_cases() -> Vec<(Condition, bool)> {
    use Condition as C;
    let n = |v: i64| Value::N(v);
    let s = |v: &str| Value::S(v.to_owned());
    let name = |v: &str| v.to_owned();
    vec![
        (C::exists(), true),
        (C::not_exists(), false),
        (C::Exists(name("n")), true),
        (C::Exists(name("zz")), false),
        (C::NotExists(name("zz")), true),
        (C::NotExists(name("n")), false),
        (C::Eq(name("n"), n(5)), true),
        (C::Eq(name("n"), n(6)), false),
        (C::Eq(name("n"), s("5")), false),
        (C::Eq(name("flag"), Value::Bool(true)), true),
        (C::Eq(name("flag"), Value::Bool(false)), false),
        (C::Eq(name("zz"), n(5)), false),
        (C::Ne(name("n"), n(6)), true),
        (C::Ne(name("n"), n(5)), false),
        (C::Ne(name("zz"), n(5)), true),
        (C::Lt(name("n"), n(6)), true),
        (C::Lt(name("n"), n(5)), false),
        (C::Lt(name("n"), s("9")), false),
        (C::Lt(name("zz"), n(9)), false),
        (C::Le(name("n"), n(5)), true),
        (C::Le(name("n"), n(4)), false),
        (C::Gt(name("n"), n(4)), true),
        (C::Gt(name("n"), n(5)), false),
        (C::Gt(name("n"), n(-100)), true),
        (C::Ge(name("n"), n(5)), true),
        (C::Ge(name("n"), n(6)), false),
        (C::Lt(name("s"), s("abd")), true),
        (C::Gt(name("s"), s("abc")), false),
        (C::Ge(name("s"), s("abc")), true),
        (C::In(name("n"), vec![n(1), n(5)]), true),
        (C::In(name("n"), vec![n(1), n(2)]), false),
        (C::In(name("s"), vec![s("x"), s("abc")]), true),
        (C::In(name("zz"), vec![n(5)]), false),
        (C::BeginsWith(name("s"), name("ab")), true),
        (C::BeginsWith(name("s"), name("abc")), true),
        (C::BeginsWith(name("s"), name("b")), false),
        (C::BeginsWith(name("n"), name("5")), false),
        (C::BeginsWith(name("zz"), name("a")), false),
        (C::And(vec![C::eq("n", 5i64), C::eq("s", "abc")]), true),
        (C::And(vec![C::eq("n", 5i64), C::eq("s", "abd")]), false),
        (C::eq("n", 5i64).and(C::Exists(name("flag"))).and(C::NotExists(name("zz"))), true),
        (C::Or(vec![C::eq("n", 6i64), C::eq("s", "abc")]), true),
        (C::Or(vec![C::eq("n", 6i64), C::eq("s", "abd")]), false),
        (C::Not(Box::new(C::eq("n", 6i64))), true),
        (C::Not(Box::new(C::eq("n", 5i64))), false),
        (C::Not(Box::new(C::And(vec![C::exists(), C::Or(vec![C::eq("n", 1i64), C::eq("n", 5i64)])]))), false),
        (C::Or(vec![C::Not(Box::new(C::exists())), C::Lt(name("n"), n(10))]), true),
    ]
}

/// The item every row of the condition table is evaluated against.
fn condition_subject(key: &Key) -> Item {
    Item::with_key(key).with("n", 5i64).with("s", "abc").with("flag", true)
}

/// Every condition variant, holding and failing, on put, update and delete
/// in turn: a holding condition lets the write through; a failing one
/// writes nothing and reports the item as it was.
pub async fn conditions_hold_and_fail(store: &Arc<dyn Store>) {
    let p = unique_prefix("conditions");
    let key = Key::new(format!("{p}#A"), "ITEM");
    let subject = condition_subject(&key);
    for (i, (condition, holds)) in condition_cases().into_iter().enumerate() {
        ok(store.put(subject.clone(), None).await, "reset subject");
        let step = format!("case {i}: {condition:?} (should {}hold)", if holds { "" } else { "not " });
        match i % 3 {
            0 => {
                let next = subject.clone().with("touched", i as i64);
                let result = store.put(next.clone(), Some(condition)).await;
                if holds {
                    ok(result, &format!("{step} put"));
                    assert_item(&**store, &key, Some(&next), &step).await;
                } else {
                    assert_condition_failed(result, Some(&subject), &format!("{step} put"));
                    assert_item(&**store, &key, Some(&subject), &step).await;
                }
            }
            1 => {
                let result = store.update(&key, Update::new().set("touched", i as i64), Some(condition)).await;
                if holds {
                    let next = subject.clone().with("touched", i as i64);
                    assert_eq!(ok(result, &format!("{step} update")), next, "{step}: update result");
                    assert_item(&**store, &key, Some(&next), &step).await;
                } else {
                    assert_condition_failed(result, Some(&subject), &format!("{step} update"));
                    assert_item(&**store, &key, Some(&subject), &step).await;
                }
            }
            _ => {
                let result = store.delete(&key, Some(condition)).await;
                if holds {
                    let old = ok(result, &format!("{step} delete"));
                    assert_eq!(old.as_ref(), Some(&subject), "{step}: delete returns the old item");
                    assert_item(&**store, &key, None, &step).await;
                } else {
                    assert_condition_failed(result, Some(&subject), &format!("{step} delete"));
                    assert_item(&**store, &key, Some(&subject), &step).await;
                }
            }
        }
    }
}

/// Conditions on a missing item see no attributes at all, and a failure
/// reports `None` as the item.
pub async fn conditions_on_absent_items(store: &Arc<dyn Store>) {
    use Condition as C;
    let p = unique_prefix("conditions-absent");
    let key = Key::new(format!("{p}#A"), "ITEM");
    let cases = vec![
        (C::exists(), false),
        (C::not_exists(), true),
        (C::Exists("n".into()), false),
        (C::NotExists("n".into()), true),
        (C::eq("n", 5i64), false),
        (C::Ne("n".into(), Value::N(5)), true),
        (C::Lt("n".into(), Value::N(5)), false),
        (C::Ge("n".into(), Value::N(5)), false),
        (C::In("n".into(), vec![Value::N(5)]), false),
        (C::BeginsWith("s".into(), "a".into()), false),
        (C::Not(Box::new(C::exists())), true),
        (C::Or(vec![C::eq("n", 1i64), C::not_exists()]), true),
        (C::And(vec![C::not_exists(), C::eq("n", 1i64)]), false),
    ];
    for (i, (condition, holds)) in cases.into_iter().enumerate() {
        let step = format!("absent case {i}: {condition:?}");
        let result = store.update(&key, Update::new().set("n", 1i64), Some(condition.clone())).await;
        if holds {
            ok(result, &format!("{step} update"));
            ok(store.delete(&key, None).await, "clean up");
        } else {
            assert_condition_failed(result, None, &format!("{step} update"));
            assert_item(&**store, &key, None, &step).await;
            assert_condition_failed(store.put(Item::with_key(&key), Some(condition.clone())).await, None, &step);
            assert_condition_failed(store.delete(&key, Some(condition)).await, None, &step);
        }
    }
}

/// Optimistic concurrency with `Condition::version`: version 0 means "never
/// written"; a stale version loses and sees the current one.
pub async fn version_conditions(store: &Arc<dyn Store>) {
    let p = unique_prefix("versions");
    let key = Key::new(format!("{p}#A"), "ITEM");
    let v1 = Item::with_key(&key).with("version", 1i64).with("name", "first");
    ok(store.put(v1.clone(), Some(Condition::version(0))).await, "create at version 0");
    assert_condition_failed(
        store.put(Item::with_key(&key).with("version", 1i64), Some(Condition::version(0))).await,
        Some(&v1),
        "second create at version 0",
    );
    let bump = || Update::new().add("version", 1).set("name", "second");
    let v2 = ok(store.update(&key, bump(), Some(Condition::version(1))).await, "update at version 1");
    assert_eq!(v2.n("version"), Some(2));
    assert_condition_failed(store.update(&key, bump(), Some(Condition::version(1))).await, Some(&v2), "stale version");
    assert_condition_failed(store.delete(&key, Some(Condition::version(3))).await, Some(&v2), "future version");
    ok(store.delete(&key, Some(Condition::version(2))).await, "delete at current version");
    assert_item(&**store, &key, None, "deleted").await;
}

/// Atomic counters under contention: 40 concurrent increments each see a
/// distinct new value and the total is exact; a capped counter (the
/// call-rate pattern) admits exactly the cap; of 20 racing creates with
/// `not_exists`, exactly one wins.
pub async fn concurrent_counters(store: &Arc<dyn Store>) {
    let p = unique_prefix("counters");
    let tasks = 40i64;

    let key = Key::new(format!("{p}#COUNTER"), "COUNTER");
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.update(&key, Update::new().add("count", 1), None).await })
        })
        .collect();
    let mut seen = Vec::new();
    for h in handles {
        let item = ok(h.await.unwrap_or_else(|e| panic!("counter task panicked: {e}")), "concurrent add");
        seen.push(item.n("count").unwrap_or(-1));
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=tasks).collect::<Vec<_>>(), "each increment sees a distinct value");
    let total = ok(store.get(&key).await, "get counter").and_then(|i| i.n("count"));
    assert_eq!(total, Some(tasks), "no increment is lost");

    let cap = 10i64;
    let key = Key::new(format!("{p}#RATE"), "RATE");
    let under_cap =
        Condition::Or(vec![Condition::NotExists("count".into()), Condition::Lt("count".into(), Value::N(cap))]);
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (store, key, cond) = (store.clone(), key.clone(), under_cap.clone());
            tokio::spawn(async move { store.update(&key, Update::new().add("count", 1), Some(cond)).await })
        })
        .collect();
    let (mut admitted, mut refused) = (0, 0);
    for h in handles {
        match h.await.unwrap_or_else(|e| panic!("capped task panicked: {e}")) {
            Ok(_) => admitted += 1,
            Err(StoreError::ConditionFailed { item }) => {
                assert_eq!(item.and_then(|i| i.n("count")), Some(cap), "a refused increment sees the full counter");
                refused += 1;
            }
            Err(e) => panic!("capped increment: unexpected {e:?}"),
        }
    }
    assert_eq!((admitted, refused), (cap, tasks - cap), "exactly the cap is admitted");
    let total = ok(store.get(&key).await, "get capped counter").and_then(|i| i.n("count"));
    assert_eq!(total, Some(cap));

    let key = Key::new(format!("{p}#CLAIM"), "CLAIM");
    let handles: Vec<_> = (0..20i64)
        .map(|i| {
            let store = store.clone();
            let item = Item::with_key(&key).with("winner", i);
            tokio::spawn(async move { store.put(item, Some(Condition::not_exists())).await })
        })
        .collect();
    let mut winners = 0;
    for h in handles {
        match h.await.unwrap_or_else(|e| panic!("claim task panicked: {e}")) {
            Ok(()) => winners += 1,
            Err(StoreError::ConditionFailed { item: Some(_) }) => {}
            Err(e) => panic!("racing create: unexpected {e:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one racing create wins");
}

/// Requests DynamoDB refuses are refused as `Invalid`, never half-applied.
pub async fn invalid_requests_are_refused(store: &Arc<dyn Store>) {
    let p = unique_prefix("invalid");
    let key = Key::new(format!("{p}#A"), "ITEM");
    assert_invalid(store.put(Item::new().with("pk", key.pk.as_str()), None).await, "put without sk");
    assert_invalid(store.put(Item::new().with("pk", 1i64).with("sk", "x"), None).await, "put with numeric pk");
    assert_invalid(store.put(Item::with_key(&Key::new("", "x")), None).await, "put with empty pk");
    assert_invalid(
        store.put(Item::with_key(&key).with("gsi1pk", 7i64).with("gsi1sk", "x"), None).await,
        "numeric index key",
    );
    assert_item(&**store, &key, None, "nothing written by refused puts").await;

    ok(store.put(Item::with_key(&key).with("s", "text"), None).await, "put");
    assert_invalid(store.update(&key, Update::new().add("s", 1), None).await, "add to a string");
    assert_invalid(store.update(&key, Update::new().set("pk", "other"), None).await, "update changes pk");
    assert_invalid(store.update(&key, Update::new().remove("sk"), None).await, "update removes sk");
    assert_item(&**store, &key, Some(&Item::with_key(&key).with("s", "text")), "refused updates change nothing").await;

    assert_invalid(store.get(&Key::new("", "")).await, "get with empty key");
    assert_invalid(store.query(&Query::index("no-such-index", format!("{p}#A"))).await, "unknown index");
    assert_invalid(store.query(&Query::partition(format!("{p}#A")).limit(0)).await, "limit 0");
    assert_invalid(store.query(&Query::partition("")).await, "empty partition key");
    let garbage = Some(crate::store::Cursor("not a cursor!".into()));
    assert_invalid(store.query(&Query::partition(format!("{p}#A")).after(garbage)).await, "garbage cursor");
}
