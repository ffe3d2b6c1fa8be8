//! Crash and restart: the real `ibrat serve --demo` (built-in simulator,
//! simulated salespeople) on one data directory is killed with SIGKILL at
//! random moments, over and over, and started again. Between start and kill
//! the test acts as a client: it adds a lead, reads every call record and
//! records an outcome, keeping what the server acknowledged. Afterwards
//! recovery is stepped on a clock past its staleness limit (the killed
//! process's simulator took its calls with it, as a lost Twilio would), and
//! then: every acknowledged lead, outcome and call record is there, no call
//! is left in flight and no lead stuck in a dialing state, no lead had two
//! calls at once, no salesperson was on two calls at once, and the day's
//! statistics equal the call records.
//!
//! `IBRAT_CRASH_ROUNDS` (default 20) and `IBRAT_CRASH_SEED` (default
//! random, printed) repeat a run.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ibrat::demo::{ADMIN_EMAIL, PASSWORD, SALESPEOPLE};
use ibrat::system::DB_FILE;
use ibrat::ServeOptions;
use ibrat_domain::UserId;
use ibrat_services::dialing::{pause, recovery};
use ibrat_services::{repo, Config};
use ibrat_testkit::TestDeps;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Lead statuses that mean a dial is under way: none may remain at the end.
const DIALING: [&str; 3] = ["dialing", "ringing", "in_call"];
const TERMINAL_CALLS: [&str; 7] = ["completed", "no_answer", "busy", "failed", "canceled", "machine", "abandoned"];

/// One `ibrat serve` process.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the binary on port 0 and waits for the address it prints.
    fn start(data_dir: &Path, demo: bool, log: &Path) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ibrat"));
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"]).arg(data_dir);
        if demo {
            cmd.arg("--demo");
        }
        for var in ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "IBRAT_JWT_SECRET", "IBRAT_PUBLIC_URL", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("the log opens");
        cmd.env("IBRAT_ADMIN_EMAIL", ADMIN_EMAIL).env("IBRAT_ADMIN_PASSWORD", PASSWORD);
        let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn().expect("ibrat starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads every line (the demo prints forever), passing on the address.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("REST API") {
                    let url = rest.split_whitespace().next().unwrap_or("").trim_end_matches("/api").to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => Server { child, base },
            Err(_) => {
                let _ = child.kill();
                panic!("ibrat serve printed no address within a minute (see {})", "the log in the data directory");
            }
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL is sent");
        self.child.wait().expect("the process is reaped");
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn login(base: &str) -> Client {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        let body = json!({ "email": ADMIN_EMAIL, "password": PASSWORD });
        let res = http.post(format!("{base}/api/auth/login")).json(&body).send().await.expect("login answers");
        assert_eq!(res.status(), StatusCode::OK);
        let token = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        Client { http, base: base.to_owned(), token }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Every item of a paged list.
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
                None => format!("{path}{sep}limit=100"),
            };
            let (status, page) = self.call(reqwest::Method::GET, &url, None).await;
            assert_eq!(status, StatusCode::OK, "{url}: {page}");
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

/// What the server acknowledged before some kill.
#[derive(Default)]
struct Ledger {
    leads: Vec<String>,
    /// Call id → the record as last read.
    calls: HashMap<String, Value>,
    /// Call id → the outcome recorded for it.
    dispositions: HashMap<String, String>,
}

/// Opens the calling window wide every day and makes calls flow fast.
async fn configure(client: &Client) {
    let (status, mut settings) = client.call(reqwest::Method::GET, "/api/settings", None).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    ibrat_testkit::settings::open_every_day(&mut settings);
    let (status, saved) = client.call(reqwest::Method::PUT, "/api/settings", Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
}

/// One round's client work against a live server.
async fn act(client: &Client, round: usize, ledger: &mut Ledger) {
    let body = json!({ "name": format!("Crash {round}"), "phone": format!("+99893{:07}", 1_000_000 + round) });
    let (status, lead) = client.call(reqwest::Method::POST, "/api/leads", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    ledger.leads.push(lead["id"].as_str().expect("a lead id").to_owned());

    let calls = client.all("/api/calls").await;
    let open = calls.iter().find(|c| c["outcome"] == "connected" && c["disposition"].is_null()).cloned();
    for call in calls {
        ledger.calls.insert(call["id"].as_str().expect("a call id").to_owned(), call);
    }
    if let Some(call) = open {
        let id = call["id"].as_str().unwrap_or_default();
        let body = json!({ "outcome": "not_interested", "notes": format!("round {round}") });
        let (status, _) = client.call(reqwest::Method::POST, &format!("/api/calls/{id}/disposition"), Some(body)).await;
        if status.is_success() {
            ledger.dispositions.insert(id.to_owned(), "not_interested".into());
        }
    }
}

/// Pauses dialing and steps recovery on a clock past its staleness limit
/// until it finds nothing more to do. Telephony refuses every call and
/// knows none: the simulator that placed them died with its process.
async fn recover(data_dir: &Path) {
    let sys =
        TestDeps::builder().at(Utc::now() + chrono::Duration::minutes(10)).file_store(data_dir.join(DB_FILE)).build();
    sys.telephony.refuse_all();
    pause::pause(&sys.deps, "crash test checks").await.expect("dialing pauses");
    for _ in 0..100 {
        let out = recovery::reconcile(&sys.deps).await.expect("recovery runs");
        assert_eq!(out.errors, 0, "{out:?}");
        if out.checked == 0 && out.orphans_removed == 0 {
            return;
        }
    }
    panic!("recovery still finds calls to check after 100 runs");
}

/// A call's span, start then end, and its id.
type Interval = (DateTime<Utc>, DateTime<Utc>, String);

fn time(v: &Value, field: &str) -> Option<DateTime<Utc>> {
    v[field].as_str().and_then(|s| s.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_and_leaves_nothing_stuck() {
    let rounds: usize = std::env::var("IBRAT_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let seed: u64 = std::env::var("IBRAT_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    println!("crash test: {rounds} rounds, IBRAT_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let log = root.path().join("serve.log");
    let began = Utc::now();
    let clock = Instant::now();

    // A first run without the demo opens the window so the demo always can.
    let server = Server::start(&data, false, &log);
    configure(&Client::login(&server.base).await).await;
    server.kill();

    let mut ledger = Ledger::default();
    for round in 0..rounds {
        let server = Server::start(&data, true, &log);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..4000))).await;
        let client = Client::login(&server.base).await;
        act(&client, round, &mut ledger).await;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(500..3000))).await;
        server.kill();
    }
    let killed_in = clock.elapsed();

    recover(&data).await;

    // Served again (dialing paused) to read everything through the API.
    let mut config = Config::for_tests();
    config.public_url = String::new();
    let options = ServeOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)), &data, config);
    let system = ibrat::start(options).await.expect("local mode starts after the crashes");
    let client = Client::login(&system.base_url()).await;

    let leads = client.all("/api/leads").await;
    let lead_status: HashMap<&str, &str> =
        leads.iter().filter_map(|l| Some((l["id"].as_str()?, l["status"].as_str()?))).collect();
    for id in &ledger.leads {
        assert!(lead_status.contains_key(id.as_str()), "the acknowledged lead {id} is lost");
    }
    let stuck: Vec<_> = leads.iter().filter(|l| DIALING.contains(&l["status"].as_str().unwrap_or(""))).collect();
    assert!(stuck.is_empty(), "{} leads stuck in a dialing state, first {:?}", stuck.len(), stuck.first());

    let calls = client.all("/api/calls").await;
    let by_id: HashMap<&str, &Value> = calls.iter().filter_map(|c| Some((c["id"].as_str()?, c))).collect();
    for (id, seen) in &ledger.calls {
        let now = by_id.get(id.as_str()).unwrap_or_else(|| panic!("the call record {id} is lost: {seen}"));
        if TERMINAL_CALLS.contains(&seen["status"].as_str().unwrap_or("")) {
            assert_eq!(now["status"], seen["status"], "a finished call changed: {seen} -> {now}");
            assert_eq!(now["outcome"], seen["outcome"], "a finished call changed: {seen} -> {now}");
        }
    }
    for (id, outcome) in &ledger.dispositions {
        let call = by_id.get(id.as_str()).unwrap_or_else(|| panic!("the call {id} is lost"));
        assert_eq!(
            call["disposition"]["outcome"].as_str().or(call["disposition"].as_str()),
            Some(outcome.as_str()),
            "{call}"
        );
    }
    let mut per_lead: BTreeMap<String, Vec<Interval>> = BTreeMap::new();
    for call in &calls {
        let status = call["status"].as_str().unwrap_or("");
        assert!(TERMINAL_CALLS.contains(&status), "a call is still in flight after recovery: {call}");
        let (Some(start), Some(end)) = (time(call, "created_at"), time(call, "ended_at")) else {
            panic!("a finished call without its times: {call}");
        };
        per_lead.entry(call["lead_id"].to_string()).or_default().push((start, end, call["id"].to_string()));
    }
    for (lead, mut list) in per_lead {
        list.sort();
        for pair in list.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "lead {lead} had two calls at once: {:?} and {:?}", pair[0], pair[1]);
        }
    }
    let users = client.all("/api/users?role=salesperson").await;
    assert_eq!(users.len(), SALESPEOPLE.len() + 1, "the demo's simulated salespeople and the one for a person");
    for user in &users {
        let id = UserId::parse(user["id"].as_str().unwrap()).unwrap();
        let mut legs = repo::calls::salesperson_legs(system.deps.store.as_ref(), &id).await.unwrap();
        legs.sort_by_key(|l| l.claimed_at);
        for leg in &legs {
            assert!(leg.released_at.is_some(), "salesperson {id} still holds a call after recovery: {leg:?}");
        }
        for pair in legs.windows(2) {
            assert!(
                pair[0].released_at.is_some_and(|r| r <= pair[1].claimed_at),
                "salesperson {id} was on two calls at once: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    let (_, summary) = client.call(reqwest::Method::GET, "/api/leads/stats/summary", None).await;
    let today = Utc::now().format("%Y-%m-%d").to_string();
    if summary["day"] == json!(today) && began.format("%Y-%m-%d").to_string() == today {
        let count = |o: &str| calls.iter().filter(|c| c["outcome"] == o).count();
        assert_eq!(summary["calls_today"], json!(calls.len()), "{summary}");
        assert_eq!(summary["connected_today"], json!(count("connected")), "{summary}");
        assert_eq!(summary["abandoned_today"], json!(count("abandoned")), "{summary}");
    } else {
        println!("the run crossed UTC midnight; the day's counters were not compared");
    }
    assert_eq!(summary["total"], json!(leads.len()), "{summary}");
    println!(
        "crash test: {rounds} SIGKILLs in {:.0?}; {} leads, {} calls, {} acknowledged leads, {} outcomes, {} call records checked",
        killed_in,
        leads.len(),
        calls.len(),
        ledger.leads.len(),
        ledger.dispositions.len(),
        ledger.calls.len()
    );
    system.shutdown().await;
}
