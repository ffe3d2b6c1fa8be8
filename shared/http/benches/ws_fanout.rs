//! Fan-out latency to 1,000 local WebSocket clients over real sockets:
//! each event (queue statistics, whose audience is everyone) is published
//! through `deps.events` and timed until every client has read it, first
//! with local mode's `HubFanout`, then with the registry-reading `Fanout`.
//! Prints p50/p99 per delivery and per event (the slowest client).
//! Target: p99 under 50 ms. Run: `cargo bench -p ibrat-http --bench ws_fanout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use ibrat_domain::{EventKind, Role};
use ibrat_http::ws_fanout::HubFanout;
use ibrat_http::AppState;
use ibrat_local::LocalHub;
use ibrat_services::auth::jwt;
use ibrat_testkit::{user, TestDeps};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 1_000;
const ADMINS: usize = 10;
const SALESPEOPLE: usize = 100;
const EVENTS: u64 = 50;
const WARMUP: u64 = 5;

/// Which publisher fans events out.
#[derive(Debug, Clone, Copy)]
enum Publisher {
    /// Local mode's `HubFanout`: audience from the hub's memory.
    Hub,
    /// AWS's `Fanout`: audience read from the registry in the table.
    Registry,
}

/// The kit's system with the hub as its connection sender and the chosen
/// publisher.
fn kit(hub: Arc<LocalHub>, publisher: Publisher) -> TestDeps {
    let builder = TestDeps::builder().connections(hub.clone());
    match publisher {
        Publisher::Hub => builder.events(Arc::new(HubFanout::new(hub))),
        Publisher::Registry => builder.fanout(),
    }
    .build()
}

async fn token(kit: &TestDeps, n: usize, role: Role) -> String {
    let now = kit.now();
    let user = user(&format!("user{n}@example.com"), role, now).name(&format!("user {n}"));
    let user = user.store(kit.store.as_ref()).await;
    let secret = kit.deps.config.jwt_secret.expose().as_bytes();
    jwt::issue(secret, &user.id, role, now, Duration::from_secs(3600)).expect("token").0
}

/// One client: connects, proves it is registered with a ping, then reports
/// (event number, arrival) for every queue statistics event it reads.
async fn client(url: String, ready: mpsc::Sender<()>, arrivals: mpsc::UnboundedSender<(u64, Instant)>) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    ws.send(Message::Text(r#"{"action":"ping"}"#.into())).await.expect("pings");
    let mut registered = false;
    while let Some(Ok(frame)) = ws.next().await {
        let Message::Text(text) = frame else { continue };
        let at = Instant::now();
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        if !registered && v["type"] == "ack" {
            registered = true;
            ready.send(()).await.expect("bench alive");
        } else if v["type"] == "queue_stats" {
            let n = v["calls_in_flight"].as_u64().unwrap_or(u64::MAX);
            if arrivals.send((n, at)).is_err() {
                return;
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn run(publisher: Publisher) {
    println!("--- {publisher:?} publisher");
    let hub = Arc::new(LocalHub::new());
    let kit = kit(hub.clone(), publisher);
    let deps = kit.deps.clone();
    let app = ibrat_http::ws::router(hub.clone()).with_state(AppState::new(deps.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut tokens = Vec::new();
    for n in 0..ADMINS {
        tokens.push(token(&kit, n, Role::Admin).await);
    }
    for n in 0..SALESPEOPLE {
        tokens.push(token(&kit, ADMINS + n, Role::Salesperson).await);
    }
    let (ready_tx, mut ready_rx) = mpsc::channel(CLIENTS);
    let (arrive_tx, mut arrive_rx) = mpsc::unbounded_channel();
    let connecting = Instant::now();
    for i in 0..CLIENTS {
        let url = format!("ws://{addr}/ws?token={}", tokens[i % tokens.len()]);
        tokio::spawn(client(url, ready_tx.clone(), arrive_tx.clone()));
    }
    for _ in 0..CLIENTS {
        ready_rx.recv().await.expect("client ready");
    }
    println!("{CLIENTS} clients connected and registered in {}", ms(connecting.elapsed()));
    assert_eq!(hub.len(), CLIENTS);

    let mut per_delivery = Vec::new();
    let mut per_event = Vec::new();
    let mut publish = Vec::new();
    for n in 0..WARMUP + EVENTS {
        let t0 = Instant::now();
        deps.emit(EventKind::QueueStats {
            waiting_by_priority: Default::default(),
            calls_in_flight: n,
            salespeople_available: 0,
        })
        .await;
        let published = t0.elapsed();
        let mut slowest = Duration::ZERO;
        for _ in 0..CLIENTS {
            let (got, at) = tokio::time::timeout(Duration::from_secs(10), arrive_rx.recv())
                .await
                .expect("every client hears every event")
                .expect("clients alive");
            assert_eq!(got, n, "events arrive in order");
            let latency = at.duration_since(t0);
            slowest = slowest.max(latency);
            if n >= WARMUP {
                per_delivery.push(latency);
            }
        }
        if n >= WARMUP {
            per_event.push(slowest);
            publish.push(published);
        }
    }
    per_delivery.sort();
    per_event.sort();
    publish.sort();
    println!("{EVENTS} events to {CLIENTS} clients ({} deliveries)", per_delivery.len());
    println!(
        "  per delivery:              p50 {}  p99 {}  max {}",
        ms(percentile(&per_delivery, 0.5)),
        ms(percentile(&per_delivery, 0.99)),
        ms(percentile(&per_delivery, 1.0))
    );
    println!(
        "  per event (last client):   p50 {}  p99 {}",
        ms(percentile(&per_event, 0.5)),
        ms(percentile(&per_event, 0.99))
    );
    println!("  publish call: p50 {}  p99 {}", ms(percentile(&publish, 0.5)), ms(percentile(&publish, 0.99)));
    let p99 = percentile(&per_delivery, 0.99);
    println!("  target p99 < 50 ms: {}", if p99 < Duration::from_millis(50) { "met" } else { "MISSED" });
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(Publisher::Hub));
    runtime.block_on(run(Publisher::Registry));
}
