//! Realistic timing (greetings, detection delay per mode, asynchronous
//! detection) and the ledger of what each number heard, served as JSON.

use serde_json::Value;
use twilio_sim::SimStatus;

use crate::conferences::{eventually, rest};
use crate::{only, Harness};

const LEAD: &str = "+15550000400";

async fn create(h: &Harness, mode: &str, extra: &[(&str, &str)]) -> String {
    let voice = h.hooks.url(&format!("/voice?mode={mode}"));
    let status = h.hooks.url("/status");
    let mut form =
        vec![("To", LEAD), ("From", "+15550009999"), ("Url", voice.as_str()), ("StatusCallback", status.as_str())];
    form.extend_from_slice(extra);
    let (code, body) = rest(h, reqwest::Method::POST, "Calls.json", &form).await;
    assert_eq!(code, 201, "{body}");
    body["sid"].as_str().unwrap_or_default().to_owned()
}

/// The ledger's detection verdict for a call: (answered_by, seconds after the answer).
fn verdict(h: &Harness, sid: &str) -> (String, f64) {
    let entry = h
        .sim
        .ledger()
        .into_iter()
        .find(|e| e.event == "amd-verdict" && e.call_sid.as_deref() == Some(sid))
        .expect("a verdict in the ledger");
    (entry.detail["answered_by"].as_str().unwrap_or("").to_owned(), entry.detail["after_secs"].as_f64().unwrap_or(-1.0))
}

#[tokio::test]
async fn detection_takes_as_long_as_its_mode_needs() {
    let h = Harness::start(only(|c| {
        c.machine_rate = 1.0;
        c.machine_greeting_secs = (10.0, 10.0);
    }))
    .await;
    let quick = create(&h, "bridge", &[("MachineDetection", "Enable")]).await;
    let at_beep = create(&h, "bridge", &[("MachineDetection", "DetectMessageEnd")]).await;
    h.settle().await;
    assert_eq!(verdict(&h, &quick), ("machine_start".to_owned(), 2.4));
    let (said, after) = verdict(&h, &at_beep);
    assert!(said.starts_with("machine_end_"), "{said}");
    assert!((10.5..=12.0).contains(&after), "the verdict waits for the greeting's end: {after}");
    let voice = h.hooks.for_call(&at_beep).into_iter().find(|x| x.path == "/voice").expect("voice requested");
    assert_eq!(voice.get("AnsweredBy"), Some(said.as_str()));
    assert_eq!(h.sim.call(&at_beep).and_then(|c| c.answered_by), Some(said));

    let people = Harness::start(only(|c| {
        c.answer_rate = 1.0;
        c.human_greeting_secs = (1.0, 1.0);
    }))
    .await;
    let person = create(&people, "bridge", &[("MachineDetection", "DetectMessageEnd")]).await;
    people.settle().await;
    let (said, after) = verdict(&people, &person);
    assert_eq!(said, "human");
    assert!((after - 2.2).abs() < 1e-6, "a person is called once their hello is followed by 1.2 s of silence: {after}");
}

#[tokio::test]
async fn async_detection_requests_the_voice_url_at_once_and_posts_the_verdict() {
    let h = Harness::start(only(|c| {
        c.answer_rate = 1.0;
        c.human_greeting_secs = (1.0, 1.0);
        c.time_scale = 0.01;
    }))
    .await;
    let amd = h.hooks.url("/amd");
    let sid = create(
        &h,
        "hold-line",
        &[("MachineDetection", "Enable"), ("AsyncAmd", "true"), ("AsyncAmdStatusCallback", &amd)],
    )
    .await;
    eventually("the verdict is posted", || h.hooks.for_call(&sid).iter().any(|x| x.path == "/amd")).await;
    let hooks = h.hooks.for_call(&sid);
    let voice = hooks.iter().find(|x| x.path == "/voice").expect("voice requested");
    assert_eq!(voice.get("AnsweredBy"), None, "the voice URL does not wait for the verdict");
    let posted = hooks.iter().find(|x| x.path == "/amd").expect("verdict posted");
    assert_eq!(posted.get("AnsweredBy"), Some("human"));
    assert_eq!(posted.get("MachineDetectionDuration"), Some("2200"));
    assert_eq!(posted.get("AccountSid"), Some(h.sim.account_sid()));
    let paths: Vec<&str> = hooks.iter().map(|x| x.path.as_str()).collect();
    let voice_at = paths.iter().position(|p| *p == "/voice");
    assert!(voice_at < paths.iter().position(|p| *p == "/amd"), "{paths:?}");
    let (code, _) = rest(&h, reqwest::Method::POST, &format!("Calls/{sid}.json"), &[("Status", "completed")]).await;
    assert_eq!(code, 200);
    h.settle().await;
    assert_eq!(h.sim.call(&sid).map(|c| (c.status, c.answered_by)), Some((SimStatus::Completed, Some("human".into()))));
}

#[tokio::test]
async fn the_ledger_tells_what_each_number_heard_and_when() {
    let h = Harness::start(only(|c| c.answer_rate = 1.0)).await;
    let sid = create(&h, "abandon", &[("MachineDetection", "Enable")]).await;
    h.settle().await;
    let ledger: Value = reqwest::get(format!("{}/sim/ledger", h.sim.base_url()))
        .await
        .expect("ledger served")
        .json()
        .await
        .expect("ledger is JSON");
    assert_eq!(ledger["account_sid"], h.sim.account_sid());
    assert_eq!(ledger["calls"][0]["sid"], sid.as_str());
    assert_eq!(ledger["calls"][0]["status"], "completed");
    let entries = ledger["entries"].as_array().cloned().unwrap_or_default();
    let of_call: Vec<&Value> = entries.iter().filter(|e| e["call_sid"] == sid.as_str()).collect();
    let events: Vec<&str> = of_call.iter().filter_map(|e| e["event"].as_str()).filter(|e| *e != "callback").collect();
    assert_eq!(events, ["created", "initiated", "ringing", "answered", "amd-verdict", "said", "ended"]);
    let said = of_call.iter().find(|e| e["event"] == "said").expect("said");
    assert_eq!(said["detail"]["text"], "Sorry, nobody is free to take your call");
    assert_eq!(said["number"], LEAD);
    assert!(said["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    let seqs: Vec<u64> = entries.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "entries in order");
    let answered = of_call.iter().find(|e| e["event"] == "answered").expect("answered");
    assert_eq!(answered["detail"]["by"], "human");
    assert!(answered["detail"]["greeting_secs"].as_f64().is_some_and(|g| (0.5..=1.8).contains(&g)));
}
