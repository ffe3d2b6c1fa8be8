//! Store throughput on the durable (file-backed) `RedbStore`: operations per
//! second for the hot paths of the dialer, at two table sizes, to show that
//! cost does not grow with the table. Run with
//! `cargo bench -p ibrat-local --bench store`; prints a table.

use ibrat_local::RedbStore;
use ibrat_ports::{Condition, Item, Key, Query, SkCondition, Store, Update};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each measurement runs.
const RUN: Duration = Duration::from_millis(1500);
/// Items per `put_many` while preloading (one write transaction each).
const CHUNK: usize = 50_000;
const SHARDS: u64 = 8;
const NOW_MS: u64 = 1_800_000_000_000;

/// A cheap deterministic pseudo-random number (splitmix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A lead shaped like production's: listing and dial-queue index entries.
fn lead(i: u64) -> Item {
    let id = format!("{i:010}");
    let created = NOW_MS - 86_400_000 + i;
    let due = NOW_MS - 3_600_000 + mix(i) % 7_200_000;
    let prio = mix(i ^ 1) % 4;
    Item::with_key(&Key::new(format!("LEAD#{id}"), "LEAD"))
        .with("phone", format!("+1555{:07}", i % 10_000_000))
        .with("name", format!("Lead number {i}"))
        .with("status", "queued")
        .with("attempts", 0i64)
        .with("version", 1i64)
        .with("created_ms", created as i64)
        .with("gsi1pk", "LEADS#queued")
        .with("gsi1sk", format!("{created:013}#{id}"))
        .with("gsi2pk", format!("QUEUE#{}", i % SHARDS))
        .with("gsi2sk", format!("1{prio}#{due:013}#{created:013}#{id}"))
}

/// Runs `op` from `clients` concurrent tasks for [`RUN`]; ops per second.
async fn measure<F, Fut>(clients: usize, op: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (op, count) = (op.clone(), count.clone());
            tokio::spawn(async move {
                let mut n = (c as u64) << 40;
                while start.elapsed() < RUN {
                    op(n).await;
                    n += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("bench task");
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn preload(store: &RedbStore, n: u64) -> f64 {
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let end = (i + CHUNK as u64).min(n);
        let batch = (i..end).map(|j| (lead(j), Some(Condition::not_exists()))).collect();
        let results = store.put_many(batch).await.expect("preload");
        assert!(results.iter().all(Result::is_ok), "preload conflicts");
        i = end;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn bench_size(n: u64, rows: &mut Vec<(String, u64, usize, f64)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(RedbStore::open(dir.path().join("bench.redb")).expect("open"));
    let rate = preload(&store, n).await;
    rows.push(("preload (put_many, not_exists)".into(), n, 1, rate));
    let fresh = Arc::new(AtomicU64::new(n));

    for clients in [1, 8] {
        let s = store.clone();
        let r = measure(clients, move |x| {
            let s = s.clone();
            async move {
                let key = Key::new(format!("LEAD#{:010}", mix(x) % n), "LEAD");
                assert!(s.get(&key).await.expect("get").is_some());
            }
        })
        .await;
        rows.push(("get".into(), n, clients, r));

        let (s, fresh) = (store.clone(), fresh.clone());
        let r = measure(clients, move |_| {
            let (s, i) = (s.clone(), fresh.fetch_add(1, Ordering::Relaxed));
            async move { s.put(lead(i), Some(Condition::not_exists())).await.expect("conditional put") }
        })
        .await;
        rows.push(("conditional put (not_exists)".into(), n, clients, r));

        let s = store.clone();
        let r = measure(clients, move |x| {
            let s = s.clone();
            async move {
                let key = Key::new(format!("LEAD#{:010}", mix(x) % n), "LEAD");
                let update = Update::new().add("attempts", 1).set("status", "queued");
                s.update(&key, update, Some(Condition::exists())).await.expect("conditional update");
            }
        })
        .await;
        rows.push(("conditional update (add, exists)".into(), n, clients, r));

        let s = store.clone();
        let r = measure(clients, move |x| {
            let s = s.clone();
            async move {
                let prio = mix(x) % 4;
                let q = Query::index("gsi2", format!("QUEUE#{}", x % SHARDS))
                    .sk(SkCondition::Between(format!("1{prio}#"), format!("1{prio}#{NOW_MS:013}\u{ff}")))
                    .limit(10);
                let page = s.query(&q).await.expect("query");
                assert_eq!(page.items.len(), 10);
            }
        })
        .await;
        rows.push(("index query (gsi2, between, limit 10)".into(), n, clients, r));
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let started = Instant::now();
    let mut rows = Vec::new();
    runtime.block_on(async {
        for n in [10_000, 1_000_000] {
            bench_size(n, &mut rows).await;
        }
    });
    println!("RedbStore, file-backed, every commit fsynced (Durability::Immediate)");
    println!("{:<40} {:>10} {:>8} {:>12}", "operation", "items", "clients", "ops/s");
    for (op, n, clients, rate) in rows {
        println!("{op:<40} {n:>10} {clients:>8} {rate:>12.0}");
    }
    println!("total time {:.1}s", started.elapsed().as_secs_f64());
}
