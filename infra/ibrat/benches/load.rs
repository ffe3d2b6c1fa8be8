//! Load on local mode, as the README reports it.
//!
//! 1. The REST API: the real `ibrat serve --demo` (its simulator dialing,
//!    its salespeople online) driven open-loop at `IBRAT_LOAD_RPS` (500)
//!    requests per second for `IBRAT_LOAD_SECS` (60) with a realistic mix:
//!    40% list leads, 25% get a call, 15% record an outcome, 20% statistics.
//!    Latency is measured from each request's scheduled start, so a server
//!    falling behind shows in the figures instead of slowing the load.
//! 2. The same load on an empty axum handler in this process, and both
//!    servers' closed-loop maximum (`IBRAT_LOAD_CONCURRENCY`, 32, clients
//!    for 10 s): the machine's ceiling next to ours.
//! 3. Twilio webhooks (signed status callbacks, 50 per second) while an
//!    import of `IBRAT_LOAD_IMPORT_ROWS` (1,000,000) rows runs on a fresh
//!    server.
//!
//! `cargo bench -p ibrat --bench load`
//! `IBRAT_LOAD_SECS=10 IBRAT_LOAD_IMPORT_ROWS=100000 cargo bench -p ibrat --bench load`

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ibrat::client::ApiClient;
use ibrat::demo::{ADMIN_EMAIL, PASSWORD};
use ibrat::import_cmd;
use rand::seq::SliceRandom;
use serde_json::{json, Value};
use tokio::sync::RwLock;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The Twilio auth token the servers are started with, so the bench can
/// sign webhooks as Twilio would.
const AUTH_TOKEN: &str = "load-bench-auth-token-0123456789";

/// A child `ibrat serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data_dir: &Path, demo: bool) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ibrat"));
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"]).arg(data_dir);
        if demo {
            cmd.arg("--demo");
        }
        for var in ["TWILIO_ACCOUNT_SID", "IBRAT_JWT_SECRET", "IBRAT_PUBLIC_URL", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        cmd.env("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
            .env("IBRAT_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("IBRAT_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("ibrat starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("REST API") {
                    let url = rest.split_whitespace().next().unwrap_or("").trim_end_matches("/api").to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(120)).expect("ibrat serve prints its address");
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Latencies and failures of one run.
#[derive(Default)]
struct Figures {
    micros: Mutex<Vec<u64>>,
    errors: AtomicU64,
    refused: AtomicU64,
}

impl Figures {
    fn record(&self, started: Instant, status: Result<reqwest::StatusCode, reqwest::Error>) {
        self.micros.lock().unwrap().push(started.elapsed().as_micros() as u64);
        match status {
            Ok(s) if s.is_server_error() => self.errors.fetch_add(1, Ordering::Relaxed),
            Ok(s) if s.is_client_error() => self.refused.fetch_add(1, Ordering::Relaxed),
            Ok(_) => 0,
            Err(_) => self.errors.fetch_add(1, Ordering::Relaxed),
        };
    }

    fn report(&self, what: &str, elapsed: Duration) {
        let mut m = self.micros.lock().unwrap().clone();
        m.sort_unstable();
        let pct = |p: f64| m.get(((m.len() as f64 * p) as usize).min(m.len().saturating_sub(1))).copied().unwrap_or(0);
        println!(
            "{what}: {} requests in {:.1} s ({:.0}/s), errors {}, 4xx {}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            m.len(),
            elapsed.as_secs_f64(),
            m.len() as f64 / elapsed.as_secs_f64(),
            self.errors.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            pct(0.50) as f64 / 1000.0,
            pct(0.99) as f64 / 1000.0,
            m.last().copied().unwrap_or(0) as f64 / 1000.0,
        );
    }
}

/// Sends `make()` at `rps` for `secs`, each request timed from its
/// scheduled start.
async fn open_loop<F, Fut>(rps: u64, secs: u64, figures: Arc<Figures>, make: F) -> Duration
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<reqwest::StatusCode, reqwest::Error>> + Send + 'static,
{
    let period = Duration::from_secs_f64(1.0 / rps as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity((rps * secs) as usize);
    for i in 0..rps * secs {
        let due = start + period * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let fut = make(i);
        let figures = figures.clone();
        tasks.push(tokio::spawn(async move {
            let status = fut.await;
            figures.record(due, status);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    start.elapsed()
}

/// Runs `clients` loops of back-to-back requests for `secs`.
async fn closed_loop(clients: u64, secs: u64, http: reqwest::Client, url: String, token: Option<String>) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, token, done) = (http.clone(), url.clone(), token.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let mut req = http.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                if req.send().await.is_ok_and(|r| r.status().is_success()) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / secs as f64
}

/// An empty axum handler on a local port.
async fn empty_server() -> String {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "" }));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

/// A call the API lists: id, whether it reached a salesperson, Twilio's SID.
type Listed = (String, bool, String);

/// Calls the API lists (refreshed as the demo dials).
async fn call_ids(admin: &ApiClient) -> Vec<Listed> {
    let page: Value = admin.get("/api/calls?limit=100").await.unwrap_or(Value::Null);
    page["items"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| {
                    Some((
                        c["id"].as_str()?.to_owned(),
                        c["outcome"] == "connected",
                        c["twilio_sid"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn rest_api(rps: u64, secs: u64, clients: u64) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), true);
    let admin = ApiClient::login(&server.base, ADMIN_EMAIL, PASSWORD).await.expect("the demo admin signs in");
    // Let the demo place its first calls.
    let mut calls = Vec::new();
    for _ in 0..60 {
        calls = call_ids(&admin).await;
        if calls.iter().any(|c| c.1) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(!calls.is_empty(), "the demo placed no call in a minute");
    let calls = Arc::new(RwLock::new(calls));
    let refresher = {
        let (calls, admin) = (calls.clone(), admin.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let fresh = call_ids(&admin).await;
                if !fresh.is_empty() {
                    *calls.write().await = fresh;
                }
            }
        })
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let (base, token) = (server.base.clone(), admin.token().to_owned());
    let figures = Arc::new(Figures::default());
    let elapsed = open_loop(rps, secs, figures.clone(), |i| {
        let (http, base, token, calls) = (http.clone(), base.clone(), token.clone(), calls.clone());
        async move {
            let pick = i % 20;
            let req = if pick < 8 {
                http.get(format!("{base}/api/leads?limit=50"))
            } else if pick < 13 {
                let id = calls.read().await.choose(&mut rand::thread_rng()).map(|c| c.0.clone()).unwrap_or_default();
                http.get(format!("{base}/api/calls/{id}"))
            } else if pick < 16 {
                let connected: Vec<String> = calls.read().await.iter().filter(|c| c.1).map(|c| c.0.clone()).collect();
                let id = connected.choose(&mut rand::thread_rng()).cloned().unwrap_or_default();
                let body = json!({ "outcome": "interested", "notes": format!("load {i}") });
                http.post(format!("{base}/api/calls/{id}/disposition")).json(&body)
            } else {
                http.get(format!("{base}/api/leads/stats/summary"))
            };
            req.bearer_auth(token).send().await.map(|r| r.status())
        }
    })
    .await;
    figures.report(&format!("REST mix on `serve --demo` at {rps}/s"), elapsed);
    refresher.abort();

    let empty = empty_server().await;
    let baseline = Arc::new(Figures::default());
    let elapsed = open_loop(rps, secs.min(20), baseline.clone(), |_| {
        let (http, url) = (http.clone(), empty.clone());
        async move { http.get(url).send().await.map(|r| r.status()) }
    })
    .await;
    baseline.report(&format!("empty axum handler at {rps}/s"), elapsed);
    let ours = closed_loop(clients, 10, http.clone(), format!("{base}/api/leads?limit=50"), Some(token)).await;
    let theirs = closed_loop(clients, 10, http.clone(), empty, None).await;
    println!("closed loop, {clients} clients: list leads {ours:.0}/s, empty axum handler {theirs:.0}/s");
    drop(server);
}

/// A CSV of `rows` distinct Uzbek mobile numbers.
fn csv(rows: u64) -> Vec<u8> {
    let mut out = String::with_capacity(rows as usize * 32 + 32);
    out.push_str("name,phone,timezone\n");
    for i in 0..rows {
        out.push_str(&format!("Lead {i},+99897{:07},Asia/Tashkent\n", i % 10_000_000));
    }
    out.into_bytes()
}

async fn webhooks_during_import(rows: u64) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), true);
    let admin = ApiClient::login(&server.base, ADMIN_EMAIL, PASSWORD).await.expect("the demo admin signs in");
    let mut calls = Vec::new();
    for _ in 0..60 {
        calls = call_ids(&admin).await;
        if calls.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(!calls.is_empty(), "the demo placed no call in a minute");
    let body = csv(rows);
    let upload = {
        let admin = admin.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let summary = import_cmd::upload(&admin, body, |_| {}).await;
            (started.elapsed(), summary)
        })
    };
    let http = reqwest::Client::new();
    let figures = Arc::new(Figures::default());
    let base = server.base.clone();
    let mut sent = 0u64;
    let started = Instant::now();
    while !upload.is_finished() {
        let offset = sent;
        let batch = open_loop(50, 1, figures.clone(), |i| {
            let (http, base) = (http.clone(), base.clone());
            let (call_id, _, sid) = calls[(i + offset) as usize % calls.len()].clone();
            async move {
                let path = format!("/twilio/status?call_id={call_id}");
                let params = vec![
                    ("CallSid".to_owned(), sid),
                    ("AccountSid".to_owned(), "AC00000000000000000000000000000000".to_owned()),
                    ("CallStatus".to_owned(), "completed".to_owned()),
                    ("SequenceNumber".to_owned(), "9".to_owned()),
                    ("CallDuration".to_owned(), "30".to_owned()),
                ];
                let signature =
                    ibrat_twilio::signature::compute_signature(AUTH_TOKEN, &format!("{base}{path}"), &params);
                http.post(format!("{base}{path}"))
                    .header("x-twilio-signature", signature)
                    .form(&params)
                    .send()
                    .await
                    .map(|r| r.status())
            }
        });
        sent += 50;
        let _ = batch.await;
    }
    let (took, summary) = upload.await.expect("the upload task ends");
    let summary = summary.expect("the import succeeds");
    println!(
        "import of {rows} rows: {} imported in {:.1} s ({:.0} rows/s)",
        summary.imported,
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64()
    );
    figures.report("Twilio status webhooks during the import (50/s)", started.elapsed());
    drop(server);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // else useful: the bench only runs when asked to.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load bench: run with `cargo bench -p ibrat --bench load`");
        return;
    }
    let rps = env_num("IBRAT_LOAD_RPS", 500);
    let secs = env_num("IBRAT_LOAD_SECS", 60);
    let clients = env_num("IBRAT_LOAD_CONCURRENCY", 32);
    let rows = env_num("IBRAT_LOAD_IMPORT_ROWS", 1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        rest_api(rps, secs, clients).await;
        webhooks_during_import(rows).await;
    });
}
