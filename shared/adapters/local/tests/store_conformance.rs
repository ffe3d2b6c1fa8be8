//! The store conformance suite against `RedbStore`, in memory and on disk,
//! plus what only an embedded store must prove: data survives a restart.

use chrono::{TimeZone, Utc};
use ibrat_local::RedbStore;
use ibrat_ports::conformance::store as suite;
use ibrat_ports::store::schema::TABLE;
use ibrat_ports::{Condition, Item, Key, ManualClock, Query, Store, StoreError, Update};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_store_conforms() {
    let store = RedbStore::in_memory().expect("in-memory store");
    suite::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(dir.path().join("nested/ibrat.redb")).expect("file store");
    suite::run_all(Arc::new(store)).await;
}

#[tokio::test]
async fn checks_run_on_a_single_threaded_runtime_too() {
    let store: Arc<dyn Store> = Arc::new(RedbStore::in_memory().expect("store"));
    suite::concurrent_counters(&store).await;
    suite::transactions_are_all_or_nothing(&store).await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ibrat.redb");
    let idx = |i: usize| {
        Item::with_key(&Key::new(format!("LEAD#{i}"), "LEAD")).with("gsi1pk", "LEADS").with("gsi1sk", format!("{i:04}"))
    };
    {
        let store = RedbStore::open(&path).expect("open");
        let results = store.put_many((0..500).map(|i| (idx(i), Some(Condition::not_exists()))).collect()).await;
        assert!(results.expect("put_many").iter().all(Result::is_ok));
        store.update(&Key::new("COUNTER#x", "COUNTER"), Update::new().add("n", 7), None).await.expect("update");
        store.delete(&Key::new("LEAD#3", "LEAD"), None).await.expect("delete");
        // A second open of a held file is refused, not silently shared.
        assert!(matches!(RedbStore::open(&path), Err(StoreError::Unavailable(_))));
    }
    let store = RedbStore::open(&path).expect("reopen");
    let counter = store.get(&Key::new("COUNTER#x", "COUNTER")).await.expect("get").and_then(|i| i.n("n"));
    assert_eq!(counter, Some(7));
    assert_eq!(store.get(&Key::new("LEAD#3", "LEAD")).await.expect("get"), None);
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let page = store.query(&Query::index("gsi1", "LEADS").limit(64).after(cursor)).await.expect("query");
        seen.extend(page.items);
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    let want: Vec<Item> = (0..500).filter(|i| *i != 3).map(idx).collect();
    assert_eq!(seen, want, "items and index entries are durable");
}

#[tokio::test]
async fn a_manual_clock_decides_expiry() {
    let clock = Arc::new(ManualClock::new(Utc.timestamp_opt(1_000_000, 0).single().expect("time")));
    let store = RedbStore::in_memory().expect("store").with_clock(clock.clone());
    let key = Key::new("CONN#1", "CONN");
    store.put(Item::with_key(&key).with(TABLE.ttl, 1_000_060i64), None).await.expect("put");
    assert!(store.get(&key).await.expect("get").is_some(), "not yet expired");
    clock.advance(chrono::Duration::seconds(60));
    assert!(store.get(&key).await.expect("get").is_none(), "expired once the clock reaches expires_at");
}

#[tokio::test]
async fn large_items_are_refused_like_dynamodb() {
    let store = RedbStore::in_memory().expect("store");
    let key = Key::new("BIG", "BIG");
    let result = store.put(Item::with_key(&key).with("blob", "x".repeat(500 * 1024)), None).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
    assert_eq!(store.get(&key).await.expect("get"), None);
}

/// A snapshot taken while a writer commits transactions holds one committed
/// state: the counter and the items it counts agree, and index entries
/// all name items (a query through the index reads every one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_during_writes_is_one_committed_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(dir.path().join("live.redb")).expect("open");
    let counter = Key::new("COUNTER#snap", "COUNTER");
    let writer = {
        let store = store.clone();
        let counter = counter.clone();
        tokio::spawn(async move {
            for i in 0..400 {
                let item = Item::with_key(&Key::new(format!("LEAD#{i}"), "LEAD"))
                    .with("gsi1pk", "SNAP")
                    .with("gsi1sk", format!("{i:04}"));
                let ops = vec![
                    ibrat_ports::WriteOp::Put { item, condition: Some(Condition::not_exists()) },
                    ibrat_ports::WriteOp::Update {
                        key: counter.clone(),
                        update: Update::new().add("n", 1),
                        condition: None,
                    },
                ];
                store.transact_write(ops).await.expect("write");
            }
        })
    };
    let mut taken = Vec::new();
    for n in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let path = dir.path().join(format!("snap-{n}.redb"));
        let (s, p) = (store.clone(), path.clone());
        let summary = tokio::task::spawn_blocking(move || s.snapshot_to(&p)).await.unwrap().expect("snapshot");
        taken.push((path, summary));
    }
    writer.await.expect("writer");
    let again = store.snapshot_to(&taken[0].0);
    assert!(matches!(again, Err(ibrat_local::SnapshotError::Exists(_))), "{again:?}");
    for (path, summary) in taken {
        let snap = RedbStore::open(&path).expect("the snapshot opens");
        let n = snap.get(&counter).await.expect("get").and_then(|i| i.n("n")).unwrap_or(0);
        let mut seen = 0;
        let mut cursor = None;
        loop {
            let page = snap.query(&Query::index("gsi1", "SNAP").limit(100).after(cursor)).await.expect("query");
            seen += page.items.len() as i64;
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, n, "the snapshot's counter and items disagree");
        let counter_items = i64::from(n > 0);
        assert_eq!(summary.items as i64, n + counter_items, "{summary:?}");
    }
}
