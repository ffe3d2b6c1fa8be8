//! Create-call options beyond our client's: GET webhooks, no progress
//! events, and a REST hang-up that interrupts a real-time wait.

use std::time::Duration;

use ibrat_ports::Telephony;
use twilio_sim::SimStatus;

use crate::{only, Harness};

#[tokio::test]
async fn get_webhooks_and_only_the_final_status_without_events() {
    let h = Harness::start(only(|c| c.answer_rate = 1.0)).await;
    let url = format!("{}/2010-04-01/Accounts/{}/Calls.json", h.sim.base_url(), h.sim.account_sid());
    let token = h.sim.state().config().auth_token.clone();
    let voice = h.hooks.url("/voice?mode=abandon");
    let status = h.hooks.url("/status");
    let form = [
        ("To", "+15550002222"),
        ("From", "+15550001111"),
        ("Url", voice.as_str()),
        ("Method", "GET"),
        ("StatusCallback", status.as_str()),
        ("StatusCallbackMethod", "GET"),
    ];
    let res = reqwest::Client::new()
        .post(url)
        .basic_auth(h.sim.account_sid(), Some(token))
        .form(&form)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status().as_u16(), 201);
    h.settle().await;
    let hooks = h.hooks.all();
    let seen: Vec<(&str, Option<&str>)> = hooks.iter().map(|h| (h.path.as_str(), h.get("CallStatus"))).collect();
    // Without MachineDetection there is no AnsweredBy.
    assert_eq!(seen, [("/voice", Some("in-progress")), ("/status", Some("completed"))]);
    assert_eq!(hooks[0].get("AnsweredBy"), None);
    assert_eq!(hooks[1].get("SequenceNumber"), Some("0"));
}

#[tokio::test]
async fn ending_a_call_interrupts_its_ringing() {
    // Real time, and a call that would ring ten minutes: only the hang-up ends it.
    let h = Harness::start(only(|c| c.time_scale = 1.0)).await;
    let mut req = h.request("+998901234576", "bridge", Some("ringing"));
    req.timeout_secs = 600;
    let placed = h.client.create_call(&req).await.expect("call placed");
    h.hooks.held().await;
    h.hooks.release();
    h.client.end_call(&placed.sid).await.expect("call ended");
    assert!(h.sim.wait_idle(Duration::from_secs(30)).await, "the hang-up must stop the ringing");
    let call = h.sim.call(&placed.sid).expect("call recorded");
    assert_eq!((call.status, call.duration_secs), (SimStatus::Canceled, Some(0)));
    let last = h.hooks.for_call(&placed.sid).pop();
    assert_eq!(last.and_then(|h| h.get("CallStatus").map(str::to_owned)).as_deref(), Some("canceled"));
}
