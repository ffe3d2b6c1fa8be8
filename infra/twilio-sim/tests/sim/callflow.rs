//! Calls played out: callbacks in Twilio's order with their parameters,
//! TwiML followed, REST hang-ups respected.

use ibrat_ports::{Telephony, TelephonyError};
use twilio_sim::{DialStatus, SimStatus};

use crate::webhooks::{Hook, SALESPERSON, SECOND_SALESPERSON};
use crate::{only, Harness};

fn summaries(hooks: &[Hook]) -> Vec<String> {
    hooks.iter().map(Hook::summary).collect()
}

fn sequence_numbers(hooks: &[Hook]) -> Vec<&str> {
    hooks.iter().filter(|h| h.path == "/status").map(|h| h.get("SequenceNumber").unwrap_or("?")).collect()
}

fn param<'a>(hook: Option<&'a Hook>, name: &str) -> &'a str {
    hook.and_then(|h| h.get(name)).unwrap_or("")
}

#[tokio::test]
async fn answered_call_is_bridged_in_twilios_order() {
    let h = Harness::start(only(|c| c.answer_rate = 1.0)).await;
    let placed = h.client.create_call(&h.request("+998901234567", "bridge", None)).await.expect("call placed");
    assert_eq!(placed.status, "queued");
    assert!(placed.sid.starts_with("CA") && placed.sid.len() == 34);
    h.settle().await;

    let hooks = h.hooks.for_call(&placed.sid);
    assert_eq!(
        summaries(&hooks),
        [
            "/status initiated",
            "/status ringing",
            "/status in-progress",
            "/voice human",
            "/dial completed",
            "/status completed"
        ]
    );
    assert_eq!(sequence_numbers(&hooks), ["0", "1", "2", "3"]);
    for hook in &hooks {
        assert_eq!(hook.get("AccountSid"), Some(h.sim.account_sid()));
        assert_eq!(hook.get("To"), Some("+998901234567"));
        assert_eq!(hook.get("From"), Some("+998712000000"));
        assert_eq!(hook.get("Direction"), Some("outbound-api"));
        assert_eq!(hook.get("ApiVersion"), Some("2010-04-01"));
    }
    let status_hooks: Vec<&Hook> = hooks.iter().filter(|h| h.path == "/status").collect();
    assert!(status_hooks.iter().all(|h| h.get("CallbackSource") == Some("call-progress-events")));
    assert!(status_hooks.iter().all(|h| h.get("Timestamp").is_some_and(|t| t.ends_with("+0000"))));

    let dial = hooks.iter().find(|h| h.path == "/dial");
    let talked: u32 = param(dial, "DialCallDuration").parse().expect("DialCallDuration is a number");
    assert!((20..=120).contains(&talked), "talked {talked} s");
    assert!(param(dial, "DialCallSid").starts_with("CA"));
    let total: u32 = param(hooks.last(), "CallDuration").parse().expect("CallDuration is a number");
    assert!(total >= talked, "call lasted {total} s, talk {talked} s");

    let call = h.sim.call(&placed.sid).expect("call recorded");
    assert_eq!(call.status, SimStatus::Completed);
    assert_eq!(call.answered_by.as_deref(), Some("human"));
    assert_eq!(call.dialed.len(), 1);
    assert_eq!(call.dialed[0].number, SALESPERSON);
    assert_eq!(call.dialed[0].caller_id.as_deref(), Some("+998901234567"));
    assert_eq!(call.dialed[0].status, DialStatus::Completed);
    assert_eq!(call.dialed[0].dial_call_sid, param(dial, "DialCallSid"));
    assert_eq!(call.duration_secs, Some(total));
    assert!(call.webhook_errors.is_empty());

    let fetched = h.client.fetch_call(&placed.sid).await.expect("call fetched");
    assert_eq!(fetched.status, "completed");
    assert_eq!(fetched.answered_by.as_deref(), Some("human"));
    assert_eq!(fetched.duration_secs, Some(total));
}

#[tokio::test]
async fn busy_call_ends_busy_without_a_voice_request() {
    let h = Harness::start(only(|c| c.busy_rate = 1.0)).await;
    let placed = h.client.create_call(&h.request("+998901234568", "bridge", None)).await.expect("call placed");
    h.settle().await;
    let hooks = h.hooks.for_call(&placed.sid);
    assert_eq!(summaries(&hooks), ["/status initiated", "/status ringing", "/status busy"]);
    assert_eq!(sequence_numbers(&hooks), ["0", "1", "2"]);
    assert_eq!(param(hooks.last(), "CallDuration"), "0");
    let call = h.sim.call(&placed.sid).expect("call recorded");
    assert_eq!((call.status, call.answered_by, call.duration_secs), (SimStatus::Busy, None, Some(0)));
    assert_eq!(h.sim.stats().busy, 1);
}

#[tokio::test]
async fn machine_is_detected_and_its_hangup_respected() {
    let h = Harness::start(only(|c| c.machine_rate = 1.0)).await;
    let placed = h.client.create_call(&h.request("+998901234569", "bridge", None)).await.expect("call placed");
    h.settle().await;
    let hooks = h.hooks.for_call(&placed.sid);
    assert_eq!(
        summaries(&hooks),
        ["/status initiated", "/status ringing", "/status in-progress", "/voice machine_start", "/status completed"]
    );
    let call = h.sim.call(&placed.sid).expect("call recorded");
    assert_eq!(call.status, SimStatus::Completed);
    assert_eq!(call.answered_by.as_deref(), Some("machine_start"));
    assert!(call.dialed.is_empty(), "the machine must not be bridged");
    assert_eq!(h.sim.stats().machine, 1);
}

#[tokio::test]
async fn abandoned_call_says_sorry_and_hangs_up() {
    let h = Harness::start(only(|c| c.answer_rate = 1.0)).await;
    let placed = h.client.create_call(&h.request("+998901234570", "abandon", None)).await.expect("call placed");
    h.settle().await;
    let hooks = h.hooks.for_call(&placed.sid);
    assert_eq!(
        summaries(&hooks),
        ["/status initiated", "/status ringing", "/status in-progress", "/voice human", "/status completed"]
    );
    let call = h.sim.call(&placed.sid).expect("call recorded");
    assert!(call.dialed.is_empty());
    // Seven words and machine detection take a few simulated seconds.
    assert!(call.duration_secs.is_some_and(|d| d >= 3), "{:?}", call.duration_secs);
}

#[tokio::test]
async fn unanswered_salesperson_leads_to_a_second_dial() {
    let h = Harness::start(only(|c| {
        c.answer_rate = 1.0;
        c.salesperson_answer_rate = 0.0;
    }))
    .await;
    let placed = h.client.create_call(&h.request("+998901234571", "retry", None)).await.expect("call placed");
    h.settle().await;
    let hooks = h.hooks.for_call(&placed.sid);
    let dials: Vec<&Hook> = hooks.iter().filter(|h| h.path == "/dial").collect();
    assert_eq!(dials.len(), 2, "{:?}", summaries(&hooks));
    assert!(dials.iter().all(|d| matches!(d.get("DialCallStatus"), Some("no-answer" | "busy"))));
    assert!(dials.iter().all(|d| d.get("DialCallDuration") == Some("0")));
    assert_eq!(param(hooks.last(), "CallStatus"), "completed");
    let call = h.sim.call(&placed.sid).expect("call recorded");
    let numbers: Vec<&str> = call.dialed.iter().map(|d| d.number.as_str()).collect();
    assert_eq!(numbers, [SALESPERSON, SECOND_SALESPERSON]);
    assert!(call.webhook_errors.is_empty(), "{:?}", call.webhook_errors);
}

#[tokio::test]
async fn failing_or_unparsable_voice_answers_end_the_call() {
    let h = Harness::start(only(|c| c.answer_rate = 1.0)).await;
    let broken = h.client.create_call(&h.request("+998901234572", "broken", None)).await.expect("call placed");
    let garbage = h.client.create_call(&h.request("+998901234573", "garbage", None)).await.expect("call placed");
    h.settle().await;
    for (sid, code) in [(&broken.sid, 11200), (&garbage.sid, 12100)] {
        let call = h.sim.call(sid).expect("call recorded");
        assert_eq!(call.status, SimStatus::Completed);
        assert_eq!(call.webhook_errors.iter().map(|e| e.code).collect::<Vec<_>>(), [code]);
        assert!(call.dialed.is_empty());
        assert_eq!(param(h.hooks.for_call(sid).last(), "CallStatus"), "completed");
    }
    assert_eq!(h.sim.stats().webhook_errors, 2);
}

#[tokio::test]
async fn ending_a_ringing_call_cancels_it() {
    let h = Harness::start(only(|c| c.answer_rate = 1.0)).await;
    let placed = h.client.create_call(&h.request("+998901234574", "bridge", Some("ringing"))).await.expect("placed");
    h.hooks.held().await;
    h.client.end_call(&placed.sid).await.expect("call ended");
    let during = h.client.fetch_call(&placed.sid).await.expect("call fetched");
    assert_eq!(during.status, "canceled");
    h.hooks.release();
    h.settle().await;
    let hooks = h.hooks.for_call(&placed.sid);
    assert_eq!(summaries(&hooks), ["/status initiated", "/status ringing", "/status canceled"]);
    assert_eq!(sequence_numbers(&hooks), ["0", "1", "2"]);
    assert_eq!(param(hooks.last(), "CallDuration"), "0");
    assert_eq!(h.sim.stats().canceled, 1);
}

#[tokio::test]
async fn ending_an_answered_call_stops_its_twiml() {
    let h = Harness::start(only(|c| c.answer_rate = 1.0)).await;
    let placed = h.client.create_call(&h.request("+998901234575", "bridge", Some("voice"))).await.expect("placed");
    h.hooks.held().await;
    h.client.end_call(&placed.sid).await.expect("call ended");
    h.hooks.release();
    h.settle().await;
    let hooks = h.hooks.for_call(&placed.sid);
    // The voice URL answered <Dial>, but the call was over: nobody is dialled.
    assert_eq!(
        summaries(&hooks),
        ["/status initiated", "/status ringing", "/status in-progress", "/voice human", "/status completed"]
    );
    let call = h.sim.call(&placed.sid).expect("call recorded");
    assert_eq!(call.status, SimStatus::Completed);
    assert!(call.dialed.is_empty());
    // Ending it again changes nothing.
    h.client.end_call(&placed.sid).await.expect("second end accepted");
    assert_eq!(h.sim.call(&placed.sid).map(|c| c.status), Some(SimStatus::Completed));
    assert_eq!(h.client.end_call("CA00000000000000000000000000000000").await, Err(TelephonyError::NotFound));
}
