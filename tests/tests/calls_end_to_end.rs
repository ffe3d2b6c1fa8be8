//! The whole system as a customer uses it: an admin signs in, creates three
//! salespeople who start their sessions (open lines) over the WebSocket,
//! imports 200 leads through the upload route, and the dialer works through them against the Twilio
//! simulator. Afterwards the call records must satisfy the invariants the
//! design promises, and the statistics must equal the records.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use ibrat::demo::leads;
use ibrat_domain::{CallingWindow, UserId};
use ibrat_services::repo;
use ibrat_tests::{wait_for, TestSystem, WsClient, PASSWORD};
use rand::SeedableRng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use twilio_sim::SimConfig;

const LEADS: usize = 200;
/// Lead statuses that mean "nothing more will happen without time passing".
const SETTLED: [&str; 5] = ["completed", "retry_scheduled", "no_more_attempts", "do_not_call", "invalid"];
const TERMINAL_CALLS: [&str; 7] = ["completed", "no_answer", "busy", "failed", "canceled", "machine", "abandoned"];

fn sim() -> SimConfig {
    SimConfig {
        seed: 20_261_124,
        answer_rate: 0.6,
        machine_rate: 0.1,
        busy_rate: 0.1,
        failed_rate: 0.05,
        salesperson_answer_rate: 0.9,
        ring_secs: (1, 10),
        talk_secs: (5, 60),
        time_scale: 0.01,
        ..SimConfig::default()
    }
}

/// Opens the window every day at its legal bounds (so some zone is open at
/// any hour), lets calls flow quickly and keeps retries out of the test's
/// time; returns the window in force.
async fn configure(sys: &TestSystem, admin: &str) -> CallingWindow {
    let (status, mut settings) = sys.call(Method::GET, "/api/settings", Some(admin), None).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    ibrat_testkit::settings::open_every_day(&mut settings);
    // Retries wait an hour, so nothing is redialed while the test checks.
    settings["retry"]["abandoned_delay_secs"] = json!(3600);
    let (status, saved) = sys.call(Method::PUT, "/api/settings", Some(admin), Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    serde_json::from_value(saved["calling_window"].clone()).expect("a calling window")
}

/// A salesperson's client: on their line, pinging, recording a disposition
/// after each of their calls ends, and calling back in when their line ends. Returns how many dispositions were acked.
async fn salesperson(ws: WsClient, me: String, mut stop: watch::Receiver<bool>) -> usize {
    let (mut tx, mut rx) = ws.into_inner().split();
    let mut acked = 0;
    let mut pings = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = ibrat::system::stopped(&mut stop) => return acked,
            _ = pings.tick() => {
                let _ = tx.send(Message::text(json!({ "action": "ping" }).to_string())).await;
            }
            frame = rx.next() => {
                let Some(Ok(Message::Text(text))) = frame else {
                    if frame.is_none() { return acked; }
                    continue;
                };
                let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                if event["type"] == "call_completed" && event["salesperson_id"] == json!(me) {
                    let reply = json!({ "action": "disposition", "call_id": event["call_id"], "outcome": "interested" });
                    let _ = tx.send(Message::text(reply.to_string())).await;
                }
                // A lost line ends the session; they call back in.
                if event["type"] == "session_updated" && event["user_id"] == json!(me) && event["line"] == "ended" {
                    let back = json!({ "action": "start_session" });
                    let _ = tx.send(Message::text(back.to_string())).await;
                }
                if event["type"] == "ack" && event["action"] == "disposition" {
                    acked += 1;
                }
            }
        }
    }
}

fn time(call: &Value, field: &str) -> Option<DateTime<Utc>> {
    call[field].as_str().map(|s| s.parse().unwrap_or_else(|e| panic!("{field} of {call}: {e}")))
}

/// A span of time, start then end, and the call it belongs to.
type Interval = (DateTime<Utc>, DateTime<Utc>, String);

/// No two intervals of the same owner overlap.
fn assert_disjoint(what: &str, intervals: BTreeMap<String, Vec<Interval>>) {
    for (owner, mut list) in intervals {
        list.sort();
        for pair in list.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{what} {owner} has overlapping calls: {:?} and {:?}", pair[0], pair[1]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_leads_are_called_without_breaking_any_invariant() {
    let sys = TestSystem::start(sim()).await;
    let (status, health) = sys.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let admin = sys.login(ibrat_tests::ADMIN_EMAIL, PASSWORD).await;
    let window = configure(&sys, &admin).await;

    // Three salespeople come online over the WebSocket.
    let (stop, stopping) = watch::channel(false);
    let mut agents = Vec::new();
    let mut salespeople = Vec::new();
    let mut tokens = Vec::new();
    let mut phones = Vec::new();
    for i in 1..=3 {
        let email = format!("sp{i}@e2e.test");
        let phone = format!("+99890111000{i}");
        let id = sys.create_salesperson(&admin, &email, &phone).await;
        phones.push(phone);
        let token = sys.login(&email, PASSWORD).await;
        let mut ws = sys.ws(&token).await;
        // They start a session: the simulator answers their phone (most of
        // the time) and their line comes up in their room, making them ready.
        let mut up = false;
        for attempt in 0..5 {
            let request = format!("start{attempt}");
            ws.send(json!({ "action": "start_session", "request_id": request })).await;
            let ack = ws.until(Duration::from_secs(10), |m| m["request_id"] == request).await.expect("an answer");
            assert_eq!(ack["type"], "ack", "{ack}");
            let line = ws
                .until(Duration::from_secs(30), |m| {
                    m["type"] == "session_updated" && m["user_id"] == json!(id) && m["line"] != "connecting"
                })
                .await
                .expect("the line comes up or ends");
            if line["line"] == "up" {
                assert_eq!(line["availability"], "available", "{line}");
                up = true;
                break;
            }
        }
        assert!(up, "salesperson {i} never got their line up");
        salespeople.push(id.clone());
        tokens.push(token.clone());
        agents.push(tokio::spawn(salesperson(ws, id, stopping.clone())));
    }

    // 200 leads, each in a zone where the window is open now.
    let started = Utc::now();
    let zones = leads::open_zones(&window, started);
    assert!(!zones.is_empty(), "a 13-hour window every day is open somewhere");
    let sample = leads::generate(LEADS, &zones, &mut rand::rngs::StdRng::seed_from_u64(11));
    let csv = String::from_utf8(leads::to_csv(&sample)).expect("utf-8");
    let (status, imported) = sys.upload_csv(&admin, csv).await;
    assert!(status.is_success(), "{status}: {imported}");

    // Run until every lead is finished or waiting for a retry.
    let last = std::sync::Mutex::new(Value::Null);
    let settled = wait_for(Duration::from_secs(240), Duration::from_millis(500), || async {
        let (_, s) = sys.call(Method::GET, "/api/leads/stats/summary", Some(&admin), None).await;
        let settled: u64 = SETTLED.iter().map(|k| s["by_status"][*k].as_u64().unwrap_or(0)).sum();
        *last.lock().unwrap() = s.clone();
        (s["total"] == json!(LEADS) && settled == LEADS as u64).then_some(s)
    })
    .await;
    let summary =
        settled.unwrap_or_else(|| panic!("the leads did not settle in four minutes: {}", last.lock().unwrap()));
    let _ = stop.send(true);
    let mut dispositions = 0;
    for agent in agents {
        dispositions += agent.await.expect("the salesperson task ends");
    }
    // They end their sessions: their lines are hung up.
    for token in &tokens {
        let (status, body) = sys.call(Method::DELETE, "/api/session", Some(token), None).await;
        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}: {body}");
    }

    let calls = sys.all_calls(&admin).await;
    assert!(calls.len() >= LEADS, "every lead was dialed at least once ({} calls)", calls.len());
    let dialed: HashSet<&str> = calls.iter().filter_map(|c| c["lead_id"].as_str()).collect();
    assert_eq!(dialed.len(), LEADS, "every lead was dialed");

    // The phone network's view: every webhook was answered well.
    let sim = sys.system.sim.as_ref().expect("the simulator runs");
    assert!(sim.wait_idle(Duration::from_secs(30)).await, "the simulator still plays calls");
    let sim_calls = sim.calls();
    let errors: Vec<_> = sim_calls.iter().flat_map(|c| c.webhook_errors.clone()).collect();
    assert!(errors.is_empty(), "{} webhooks failed, first: {:?}", errors.len(), errors.first());

    let mut per_lead = BTreeMap::<String, Vec<_>>::new();
    let mut connected_to = BTreeMap::<String, String>::new();
    let (mut connected, mut abandoned) = (0u64, 0u64);
    for call in &calls {
        // Complete: terminal status, outcome, ordered timestamps, durations.
        let status = call["status"].as_str().unwrap_or("");
        assert!(TERMINAL_CALLS.contains(&status), "call not finished: {call}");
        assert!(call["outcome"].is_string(), "no outcome: {call}");
        let created = time(call, "created_at").expect("created_at");
        let ended = time(call, "ended_at").unwrap_or_else(|| panic!("no ended_at: {call}"));
        assert!(created <= ended, "ends before it starts: {call}");
        if time(call, "ringing_at").is_some() {
            assert!(call["ring_secs"].is_u64(), "rang but no ring_secs: {call}");
        }
        per_lead.entry(call["lead_id"].to_string()).or_default().push((created, ended, call["id"].to_string()));

        let outcome = call["outcome"].as_str().unwrap_or("");
        let person_answered = time(call, "answered_at").is_some() && call["answered_by"] != "machine";
        if outcome == "connected" {
            connected += 1;
            let bridged = time(call, "bridged_at").unwrap_or_else(|| panic!("connected, never bridged: {call}"));
            let joined = time(call, "connected_at").unwrap_or_else(|| panic!("connected, never joined: {call}"));
            assert!(bridged <= joined && joined <= ended, "joined outside the call: {call}");
            assert!(call["salesperson_id"].is_string(), "connected to nobody: {call}");
            assert!(call["talk_secs"].is_u64(), "connected but no talk_secs: {call}");
            assert!(created <= bridged && bridged <= ended, "bridged outside the call: {call}");
            let (id, sp) = (call["id"].as_str(), call["salesperson_id"].as_str());
            connected_to.insert(id.expect("a call id").to_owned(), sp.expect("a salesperson").to_owned());
        } else if outcome == "abandoned" {
            abandoned += 1;
        } else {
            assert!(
                !person_answered || outcome == "machine",
                "a person answered and was neither bridged nor abandoned: {call}"
            );
        }
    }
    // The phone network's side agrees: every placed call has a record, a
    // person who talked to a salesperson is a connected call, and any other
    // person who answered was abandoned.
    // (The salespeople's own legs are their sessions' lines, not calls.)
    let lead_calls: Vec<_> = sim_calls.iter().filter(|c| !phones.contains(&c.to)).collect();
    let ledger = sim.ledger();
    let by_sid: BTreeMap<&str, &Value> = calls.iter().filter_map(|c| Some((c["twilio_sid"].as_str()?, c))).collect();
    assert_eq!(by_sid.len(), lead_calls.len(), "one record per placed call");
    for placed in lead_calls {
        let record = by_sid.get(placed.sid.as_str()).unwrap_or_else(|| panic!("no record of {placed:?}"));
        // Talked: the lead's leg joined a room someone (the salesperson) was in.
        let talked = ledger.iter().any(|e| {
            e.event == "joined-room"
                && e.call_sid.as_deref() == Some(placed.sid.as_str())
                && e.detail["with"].as_array().is_some_and(|w| !w.is_empty())
        });
        let machine = placed.answered_by.as_deref().is_some_and(|a| a.starts_with("machine") || a == "fax");
        if talked {
            assert_eq!(record["outcome"], "connected", "{placed:?} vs {record}");
        } else if placed.status == twilio_sim::SimStatus::Completed && !machine {
            assert!(
                ["connected", "abandoned"].contains(&record["outcome"].as_str().unwrap_or("")),
                "{placed:?} vs {record}"
            );
        }
    }

    assert_disjoint("lead", per_lead);
    assert!(connected > 0, "some calls reached a salesperson");
    // Every salesperson's legs (claim to release, one per call they were
    // claimed for, whoever of them took it) are all released and never
    // overlap: nobody was ever on two calls at once.
    let mut legged = HashSet::new();
    for id in &salespeople {
        let user = UserId::parse(id).expect("a user id");
        let mut legs = repo::calls::salesperson_legs(sys.system.deps.store.as_ref(), &user).await.expect("legs");
        legs.sort_by_key(|l| (l.claimed_at, l.released_at));
        for leg in &legs {
            let released = leg.released_at.unwrap_or_else(|| panic!("salesperson {id} never released: {leg:?}"));
            assert!(leg.claimed_at <= released, "salesperson {id} released before claimed: {leg:?}");
            legged.insert((leg.call_id.to_string(), id.clone()));
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
    for (call_id, sp) in &connected_to {
        assert!(legged.contains(&(call_id.clone(), sp.clone())), "connected call {call_id} has no leg of {sp}");
    }
    assert!(dispositions > 0, "salespeople recorded dispositions over the WebSocket");

    // The statistics are the sum of the records.
    let (_, summary_now) = sys.call(Method::GET, "/api/leads/stats/summary", Some(&admin), None).await;
    // Day counters restart at UTC midnight; a run across it cannot compare them.
    if summary_now["day"] == json!(started.format("%Y-%m-%d").to_string()) {
        assert_eq!(summary_now["calls_today"], summary["calls_today"], "no call started after settling");
        assert_eq!(summary_now["calls_today"], json!(calls.len()), "{summary_now}");
        assert_eq!(summary_now["connected_today"], json!(connected), "{summary_now}");
        assert_eq!(summary_now["abandoned_today"], json!(abandoned), "{summary_now}");
    } else {
        eprintln!("the run crossed UTC midnight; the day's call counters were not compared");
    }
    sys.system.shutdown().await;
}
