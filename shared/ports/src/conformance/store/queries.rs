//! Queries on the base table and on every index: sort-key conditions,
//! order, limits, pagination, and sparse index membership.

use super::{all_pages, assert_item, ok, query_all, sks, unique_prefix};
use crate::store::schema::{IndexDef, TABLE};
use crate::store::{Item, Key, Query, SkCondition, Store, Update};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Sort keys chosen so every condition has neighbours on both sides:
/// prefixes of each other (`b`, `b#1`, `ba`) and a non-ASCII key that
/// sorts after ASCII in byte order (`é`).
const SORT_KEYS: [&str; 8] = ["a", "b", "b#1", "b#2", "b#3", "ba", "c", "é"];

/// Each sort-key condition with the keys it selects, ascending.
fn sk_cases() -> Vec<(SkCondition, Vec<&'static str>)> {
    use SkCondition as S;
    let s = |v: &str| v.to_owned();
    vec![
        (S::Any, SORT_KEYS.to_vec()),
        (S::Eq(s("b#2")), vec!["b#2"]),
        (S::Eq(s("b#")), vec![]),
        (S::BeginsWith(s("b#")), vec!["b#1", "b#2", "b#3"]),
        (S::BeginsWith(s("b")), vec!["b", "b#1", "b#2", "b#3", "ba"]),
        (S::BeginsWith(s("z")), vec![]),
        (S::Between(s("b"), s("b#2")), vec!["b", "b#1", "b#2"]),
        (S::Between(s("b#15"), s("bz")), vec!["b#2", "b#3", "ba"]),
        (S::Between(s("a"), s("a")), vec!["a"]),
        (S::Lt(s("b#1")), vec!["a", "b"]),
        (S::Lt(s("a")), vec![]),
        (S::Le(s("b#1")), vec!["a", "b", "b#1"]),
        (S::Gt(s("b#3")), vec!["ba", "c", "é"]),
        (S::Gt(s("c")), vec!["é"]),
        (S::Ge(s("b#3")), vec!["b#3", "ba", "c", "é"]),
    ]
}

/// Runs every sort-key case against one partition: forward, reverse, with
/// a limit (first page), and paged two at a time in both directions.
/// `sk_of` reads the queried sort key back from an item.
async fn check_sk_cases(
    store: &dyn Store,
    base: Query,
    sk_of: &dyn Fn(&Item) -> String,
    items: &BTreeMap<String, Item>,
) {
    for (cond, want) in sk_cases() {
        let step = format!("{:?} pk={} {cond:?}", base.index, base.pk);
        let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        let want_rev: Vec<String> = want.iter().rev().cloned().collect();
        let q = base.clone().sk(cond.clone());

        let page = ok(store.query(&q).await, &step);
        assert_eq!(page.items.iter().map(sk_of).collect::<Vec<_>>(), want, "{step}: forward");
        for item in &page.items {
            assert_eq!(Some(item), items.get(&sk_of(item)), "{step}: query returns whole items");
        }
        assert!(page.cursor.is_none(), "{step}: an unlimited query that returned everything has no cursor");

        let page = ok(store.query(&q.clone().reverse()).await, &step);
        assert_eq!(page.items.iter().map(sk_of).collect::<Vec<_>>(), want_rev, "{step}: reverse");

        let page = ok(store.query(&q.clone().limit(2)).await, &step);
        let first: Vec<String> = want.iter().take(2).cloned().collect();
        assert_eq!(page.items.iter().map(sk_of).collect::<Vec<_>>(), first, "{step}: limit 2");
        if want.len() > 2 {
            assert!(page.cursor.is_some(), "{step}: a limited page with more to come has a cursor");
        }
        let page = ok(store.query(&q.clone().reverse().limit(2)).await, &step);
        let first: Vec<String> = want_rev.iter().take(2).cloned().collect();
        assert_eq!(page.items.iter().map(sk_of).collect::<Vec<_>>(), first, "{step}: reverse limit 2");

        let all = query_all(store, q.clone().limit(2), &step).await;
        assert_eq!(all.iter().map(sk_of).collect::<Vec<_>>(), want, "{step}: paged forward");
        let all = query_all(store, q.clone().reverse().limit(2), &step).await;
        assert_eq!(all.iter().map(sk_of).collect::<Vec<_>>(), want_rev, "{step}: paged reverse");
    }
}

/// Base-table queries select exactly one partition (not its neighbours
/// whose keys share a prefix) and honour every sort-key condition.
pub async fn query_base_table(store: &Arc<dyn Store>) {
    let p = unique_prefix("query-base");
    let pk = format!("{p}#part");
    let mut items = BTreeMap::new();
    for (i, sk) in SORT_KEYS.iter().enumerate() {
        let item = Item::with_key(&Key::new(pk.as_str(), *sk)).with("i", i as i64);
        ok(store.put(item.clone(), None).await, "put");
        items.insert((*sk).to_owned(), item);
    }
    for neighbour in [format!("{p}#par"), format!("{p}#partx"), format!("{p}#part#")] {
        for sk in ["a", "b", "b#1", "é"] {
            ok(store.put(Item::with_key(&Key::new(neighbour.as_str(), sk)), None).await, "put neighbour");
        }
    }
    let sk_of = |i: &Item| i.s("sk").unwrap_or_default().to_owned();
    check_sk_cases(&**store, Query::partition(pk), &sk_of, &items).await;
    let empty = ok(store.query(&Query::partition(format!("{p}#nothing"))).await, "empty partition");
    assert!(empty.items.is_empty() && empty.cursor.is_none(), "an empty partition has no items and no cursor");
}

/// Puts items that carry only `index`'s keys, in partition `gpk`.
async fn fill_index(store: &dyn Store, p: &str, index: &IndexDef, gpk: &str) -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    // Base keys in an order unrelated to the index sort keys.
    for (i, sk) in SORT_KEYS.iter().enumerate() {
        let key = Key::new(format!("{p}#{}#item{}", index.name, (i * 5) % SORT_KEYS.len()), "ITEM");
        let item = Item::with_key(&key).with(index.pk, gpk).with(index.sk, *sk).with("i", i as i64);
        ok(store.put(item.clone(), None).await, "put indexed item");
        items.insert((*sk).to_owned(), item);
    }
    items
}

/// Every index answers every sort-key condition, in both directions, for
/// its own partition only: items carrying another index's keys, or keys of
/// a neighbouring partition, never show up.
pub async fn query_each_index(store: &Arc<dyn Store>) {
    let p = unique_prefix("query-index");
    // The same partition value in every index, so mixing indexes shows.
    let gpk = format!("{p}#part");
    let mut per_index = Vec::new();
    for index in TABLE.indexes {
        per_index.push((index, fill_index(&**store, &p, index, &gpk).await));
        let stray = Item::with_key(&Key::new(format!("{p}#{}#stray", index.name), "ITEM"))
            .with(index.pk, format!("{gpk}x"))
            .with(index.sk, "b");
        ok(store.put(stray, None).await, "put neighbour partition item");
    }
    for (index, items) in per_index {
        let sk_of = |i: &Item| i.s(index.sk).unwrap_or_default().to_owned();
        check_sk_cases(&**store, Query::index(index.name, gpk.as_str()), &sk_of, &items).await;
    }
}

/// Several pages with the opaque cursor yield every item exactly once, in
/// order, on the base table and on an index with duplicate sort keys, with
/// and without a sort-key condition.
pub async fn pagination_yields_every_item_once(store: &Arc<dyn Store>) {
    let p = unique_prefix("pagination");
    let pk = format!("{p}#part");
    let gpk = format!("{p}#gpart");
    let count: usize = 25;
    let mut puts = Vec::new();
    for i in 0..count {
        puts.push(
            Item::with_key(&Key::new(pk.as_str(), format!("item#{i:02}")))
                .with("gsi2pk", gpk.as_str())
                .with("gsi2sk", format!("g#{}", i / 3)),
        );
    }
    ok(store.batch_write(puts, Vec::new()).await, "batch put");
    let expected: Vec<String> = (0..count).map(|i| format!("item#{i:02}")).collect();

    for limit in [1, 7, 25, 100] {
        let step = format!("base limit {limit}");
        let pages = all_pages(&**store, Query::partition(pk.as_str()).limit(limit), &step).await;
        let got: Vec<String> = pages.iter().flat_map(|p| sks(p)).collect();
        assert_eq!(got, expected, "{step}: forward");
        assert!(pages.len() >= count.div_ceil(limit), "{step}: too few pages");
        let got = sks(&query_all(&**store, Query::partition(pk.as_str()).reverse().limit(limit), &step).await);
        let rev: Vec<String> = expected.iter().rev().cloned().collect();
        assert_eq!(got, rev, "{step}: reverse");
    }

    let between = SkCondition::Between("item#05".into(), "item#19".into());
    let got = sks(&query_all(&**store, Query::partition(pk.as_str()).sk(between.clone()).limit(4), "between").await);
    assert_eq!(got, expected[5..=19].to_vec(), "paged between");
    let got = sks(&query_all(&**store, Query::partition(pk.as_str()).sk(between).reverse().limit(4), "between").await);
    assert_eq!(got, expected[5..=19].iter().rev().cloned().collect::<Vec<_>>(), "paged between, reverse");

    for forward in [true, false] {
        let mut q = Query::index("gsi2", gpk.as_str()).limit(4);
        if !forward {
            q = q.reverse();
        }
        let items = query_all(&**store, q, "index pages").await;
        let mut got = sks(&items);
        let gsks: Vec<&str> = items.iter().map(|i| i.s("gsi2sk").unwrap_or_default()).collect();
        let mut sorted = gsks.clone();
        sorted.sort_unstable();
        if !forward {
            sorted.reverse();
        }
        assert_eq!(gsks, sorted, "index pages (forward={forward}) are in index sort-key order");
        got.sort();
        assert_eq!(got, expected, "index pages (forward={forward}) yield every item exactly once");
    }
}

/// Sparse indexes: an item is in an index only while it carries both of the
/// index's keys; changing a key moves it; removing one, overwriting without
/// them or deleting the item takes it out.
pub async fn sparse_indexes_follow_their_keys(store: &Arc<dyn Store>) {
    let p = unique_prefix("sparse");
    let (one, two) = (format!("{p}#one"), format!("{p}#two"));
    let in_index =
        |gpk: String| async move { sks(&query_all(&**store, Query::index("gsi1", gpk), "sparse query").await) };
    let key = Key::new(format!("{p}#A"), "A");

    ok(store.put(Item::with_key(&key).with("gsi1pk", one.as_str()), None).await, "put with pk only");
    ok(store.put(Item::with_key(&Key::new(format!("{p}#B"), "B")), None).await, "put without index keys");
    assert!(in_index(one.clone()).await.is_empty(), "an item with only the index pk is not indexed");

    ok(store.update(&key, Update::new().set("gsi1sk", "s1"), None).await, "add index sk");
    assert_eq!(in_index(one.clone()).await, vec!["A"], "adding the index sk indexes the item");

    ok(store.update(&key, Update::new().set("gsi1pk", two.as_str()), None).await, "change index pk");
    assert!(in_index(one.clone()).await.is_empty(), "changing the index pk leaves the old partition");
    assert_eq!(in_index(two.clone()).await, vec!["A"], "changing the index pk enters the new partition");

    let moved = ok(store.update(&key, Update::new().set("gsi1sk", "s0"), None).await, "change index sk");
    let page = ok(store.query(&Query::index("gsi1", two.as_str()).sk(SkCondition::Eq("s0".into()))).await, "eq s0");
    assert_eq!(page.items, vec![moved.clone()], "changing the index sk moves the entry");
    let page = ok(store.query(&Query::index("gsi1", two.as_str()).sk(SkCondition::Eq("s1".into()))).await, "eq s1");
    assert!(page.items.is_empty(), "the old index sk no longer matches");

    ok(store.update(&key, Update::new().remove("gsi1sk"), None).await, "remove index sk");
    assert!(in_index(two.clone()).await.is_empty(), "removing the index sk unindexes the item");

    ok(store.put(moved.clone(), None).await, "put indexed again");
    assert_eq!(in_index(two.clone()).await, vec!["A"]);
    ok(store.put(Item::with_key(&key).with("x", 1i64), None).await, "overwrite without index keys");
    assert!(in_index(two.clone()).await.is_empty(), "a put without index keys unindexes the item");

    ok(store.put(moved, None).await, "put indexed again");
    ok(store.delete(&key, None).await, "delete");
    assert!(in_index(two).await.is_empty(), "a deleted item leaves every index");
    assert_item(&**store, &key, None, "deleted").await;
}
