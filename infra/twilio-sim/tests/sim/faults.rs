//! Faults at configured rates: callbacks duplicated, reordered, delayed or
//! dropped; a create that times out after placing the call; 5xx answers.

use std::time::{Duration, Instant};

use ibrat_ports::{Telephony, TelephonyError};
use twilio_sim::Faults;

use crate::conferences::{call, eventually, rest, rooms_config, AGENT, LEAD};
use crate::webhooks::Hook;
use crate::{only, Harness};

fn statuses(hooks: &[Hook]) -> Vec<String> {
    hooks.iter().filter(|x| x.path == "/status").map(|x| x.get("CallStatus").unwrap_or("").to_owned()).collect()
}

fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
    let mut faults = Faults::default();
    f(&mut faults);
    faults
}

#[tokio::test]
async fn every_callback_twice_when_duplication_is_certain() {
    let h = Harness::start(only(|c| {
        c.busy_rate = 1.0;
        c.faults = faults(|f| f.duplicate = 1.0);
    }))
    .await;
    let sid = h.client_create(&h.request("+15550000501", "bridge", None)).await;
    h.settle().await;
    let got = statuses(&h.hooks.for_call(&sid));
    assert_eq!(got, ["initiated", "initiated", "ringing", "ringing", "busy", "busy"]);
    let fates: Vec<String> = h
        .sim
        .ledger()
        .into_iter()
        .filter(|e| e.event == "callback")
        .map(|e| e.detail["fate"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(fates, ["duplicated"; 3]);
}

#[tokio::test]
async fn reordered_callbacks_arrive_after_the_next_one() {
    let h = Harness::start(only(|c| {
        c.busy_rate = 1.0;
        c.faults = faults(|f| f.reorder = 1.0);
    }))
    .await;
    let sid = h.client_create(&h.request("+15550000502", "bridge", None)).await;
    h.settle().await;
    // initiated is held, goes after ringing; busy is held, goes at the end.
    assert_eq!(statuses(&h.hooks.for_call(&sid)), ["ringing", "initiated", "busy"]);
    let seq: Vec<String> =
        h.hooks.for_call(&sid).iter().map(|x| x.get("SequenceNumber").unwrap_or("").to_owned()).collect();
    assert_eq!(seq, ["1", "0", "2"], "sequence numbers tell the true order");
}

#[tokio::test]
async fn dropped_callbacks_never_arrive_but_the_ledger_keeps_them() {
    let h = Harness::start(rooms_config(|c| c.faults = faults(|f| f.drop = 1.0))).await;
    let agent = h.client_create(&call(&h, AGENT, "agent", "agent-d", false)).await;
    eventually("the room starts", || !h.sim.rooms().is_empty()).await;
    let lead = h.client_create(&call(&h, LEAD, "lead", "agent-d", false)).await;
    eventually("the lead hangs up", || h.sim.call(&lead).is_some_and(|c| c.status.is_final())).await;
    h.client.end_call(&agent).await.expect("line ended");
    h.settle().await;
    let all = h.hooks.all();
    assert!(all.iter().all(|x| x.path == "/voice"), "only voice requests, never dropped: {all:?}");
    let dropped = h.sim.ledger().into_iter().filter(|e| e.event == "callback" && e.detail["fate"] == "dropped").count();
    // Two calls' initiated, ringing, in-progress, completed; six room events.
    assert_eq!(dropped, 8 + 6);
}

#[tokio::test]
async fn delayed_callbacks_arrive_late() {
    let h = Harness::start(only(|c| {
        c.busy_rate = 1.0;
        c.time_scale = 0.05;
        c.faults = faults(|f| {
            f.delay = 1.0;
            f.delay_secs = (4, 4);
        });
    }))
    .await;
    let started = Instant::now();
    let sid = h.client_create(&h.request("+15550000503", "bridge", None)).await;
    h.settle().await;
    eventually("all three arrive", || statuses(&h.hooks.for_call(&sid)).len() == 3).await;
    assert!(started.elapsed() >= Duration::from_millis(200), "4 simulated seconds at 0.05");
}

#[tokio::test]
async fn a_timed_out_create_still_places_the_call() {
    let h = Harness::start(only(|c| {
        c.busy_rate = 1.0;
        c.faults = faults(|f| {
            f.create_timeout = 1.0;
            f.create_hang = Duration::from_millis(300);
        });
    }))
    .await;
    let started = Instant::now();
    let (status, body) = rest(
        &h,
        reqwest::Method::POST,
        "Calls.json",
        &[("To", "+15550000504"), ("From", "+15550009999"), ("Twiml", "<Response/>")],
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300), "the answer hangs");
    assert_eq!(status, 201);
    h.settle().await;
    assert_eq!(h.sim.calls().len(), 1, "the call was placed");
    assert_eq!(h.sim.calls()[0].sid, body["sid"].as_str().unwrap_or(""));
    assert!(h.sim.ledger().iter().any(|e| e.event == "rest-fault" && e.detail["fault"] == "create-timeout"));
}

#[tokio::test]
async fn server_errors_are_twilios_5xx_and_change_nothing() {
    let h = Harness::start(only(|c| c.faults = faults(|f| f.server_error = 1.0))).await;
    let (status, body) =
        rest(&h, reqwest::Method::POST, "Calls.json", &[("To", "+15550000505"), ("From", "+15550009999")]).await;
    assert!(status == 500 || status == 503, "{status}");
    assert_eq!(body["status"].as_u64(), Some(u64::from(status)));
    assert_eq!(body["code"].as_u64(), Some(if status == 500 { 20500 } else { 20503 }));
    assert!(body["more_info"].as_str().is_some_and(|m| m.starts_with("https://www.twilio.com/docs/errors/205")));
    let refused = h.client.create_call(&h.request("+15550000505", "bridge", None)).await;
    assert!(matches!(refused, Err(TelephonyError::Unavailable(_))), "our client retries later: {refused:?}");
    assert!(h.sim.calls().is_empty(), "nothing was placed");
}

#[tokio::test]
async fn chaos_rates_are_every_fault_at_once() {
    let chaos = Faults::chaos();
    let rates = [chaos.duplicate, chaos.delay, chaos.reorder, chaos.drop, chaos.create_timeout, chaos.server_error];
    assert!(rates.iter().all(|r| *r > 0.0 && *r <= 0.05), "{rates:?}");
    assert!(chaos.create_hang > Duration::from_secs(10), "longer than our client's 10 s timeout");
}
