//! Recovery over the test kit: a call whose placement was never confirmed
//! (no SID recorded) is resolved by asking Twilio before its lead may be
//! dialed again; the process stopping between two writes of the flow
//! (crash points) leaves a state the scheduler's tick repairs; long calls
//! are checked once per interval, finished calls leave no marker, and only
//! the scheduled tick runs recovery.

mod flow_common;

use std::sync::atomic::Ordering;

use chrono::Duration;
use flow_common::H;
use ibrat_domain::{Availability, CallStatus, LeadStatus, Priority};
use ibrat_ports::TelephonyError;
use ibrat_services::callflow::{on_status, on_voice, StatusUpdate, TwilioCallStatus, VoiceInput};
use ibrat_services::dialing::{dial, reconcile, reconcile_with, repairing_tick, tick, DialOutcome, RecoveryOptions};
use ibrat_services::repo;
use ibrat_testkit::TelephonyRequest;

/// How far before the attempt recovery asks Twilio for calls (clock skew).
const SKEW: i64 = 5;

#[tokio::test]
async fn an_ambiguous_create_is_found_at_twilio_and_its_lead_is_not_dialed_again() {
    let h = H::new().await;
    let lead = h.lead(1).await;
    h.telephony.place_then_lose_next();
    let out = dial(&h.deps, &lead.id, true).await.unwrap();
    let DialOutcome::Unknown { call_id, .. } = out else { panic!("{out:?}") };
    let call = h.call(&call_id).await;
    assert_eq!((call.twilio_sid.as_deref(), call.placement_unknown_at), (None, Some(h.now())));
    // The lead stays claimed: dialing it again places nothing.
    assert!(matches!(dial(&h.deps, &lead.id, true).await.unwrap(), DialOutcome::AlreadyClaimed { .. }));
    assert_eq!(reconcile(&h.deps).await.unwrap().checked, 0, "not yet due for a check");

    // Twilio had the call; it was not answered.
    let sid = h.telephony.placed()[0].sid.clone();
    h.telephony.set_status(&sid, "no-answer");
    h.advance(Duration::seconds(31));
    let out = reconcile(&h.deps).await.unwrap();
    assert_eq!((out.checked, out.finished, out.requeued), (1, 1, 0), "{out:?}");
    let asked = TelephonyRequest::ListTo(lead.phone.as_str().to_owned(), call.created_at - Duration::seconds(SKEW));
    assert!(h.telephony.requests().contains(&asked), "{:?}", h.telephony.requests());
    let call = h.call(&call_id).await;
    assert_eq!((call.twilio_sid.as_deref(), call.placement_unknown_at), (Some(sid.as_str()), None));
    assert_eq!(call.status, CallStatus::NoAnswer);
    let lead = h.get_lead(&lead.id).await;
    assert_eq!((lead.status, lead.attempts), (LeadStatus::RetryScheduled, 1));
    assert_eq!(h.telephony.create_attempts.load(Ordering::SeqCst), 1, "one real call, never resent");
}

#[tokio::test]
async fn an_ambiguous_create_twilio_never_got_requeues_the_lead() {
    let h = H::new().await;
    let lead = h.lead(1).await;
    h.telephony.fail_next([TelephonyError::Ambiguous("connection reset before any answer".into())]);
    let out = dial(&h.deps, &lead.id, true).await.unwrap();
    let DialOutcome::Unknown { call_id, .. } = out else { panic!("{out:?}") };
    h.advance(Duration::seconds(31));
    let out = reconcile(&h.deps).await.unwrap();
    assert_eq!((out.checked, out.requeued), (1, 1), "{out:?}");
    assert_eq!(h.call(&call_id).await.status, CallStatus::Failed);
    assert_eq!(h.get_lead(&lead.id).await.status, LeadStatus::Queued);
    // Only now may it be dialed again.
    assert!(matches!(dial(&h.deps, &lead.id, true).await.unwrap(), DialOutcome::Placed { .. }));
    assert_eq!(h.telephony.placed().len(), 1);
}

#[tokio::test]
async fn crash_after_twilio_placed_the_call_but_before_its_sid_was_stored() {
    let (h, crash) = H::crashing().await;
    let lead = h.lead(1).await;
    // Write 1 claims the lead, write 2 takes a call-rate slot, Twilio
    // places the call; the process stops before write 3 (the SID).
    crash.crash_at_write(3);
    assert!(dial(&h.deps, &lead.id, true).await.is_err());
    assert_eq!(h.telephony.placed().len(), 1, "Twilio has the call");
    let sid = h.telephony.placed()[0].sid.clone();
    let restarted = h.restarted();
    let call_id = h.get_lead(&lead.id).await.last_call_id.expect("claimed");
    let call = h.call(&call_id).await;
    // No SID and no "unknown" mark: it must still not count as never placed.
    assert_eq!((call.status, call.twilio_sid.as_deref(), call.placement_unknown_at), (CallStatus::Created, None, None));
    assert!(matches!(dial(&restarted, &lead.id, true).await.unwrap(), DialOutcome::AlreadyClaimed { .. }));

    h.telephony.set_status(&sid, "busy");
    h.advance(Duration::minutes(5) + Duration::seconds(1));
    let out = repairing_tick(&restarted).await.unwrap().recovery.expect("recovery ran");
    assert_eq!((out.checked, out.finished, out.requeued), (1, 1, 0), "{out:?}");
    let call = h.call(&call_id).await;
    assert_eq!((call.status, call.twilio_sid.as_deref()), (CallStatus::Busy, Some(sid.as_str())));
    assert_eq!(h.get_lead(&lead.id).await.status, LeadStatus::RetryScheduled);
    assert_eq!(repo::pacing::get(h.store.as_ref()).await.unwrap().in_flight, 0);
    assert_eq!(h.telephony.create_attempts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn crash_between_the_answer_and_the_claim_of_a_salesperson() {
    let (h, crash) = H::crashing().await;
    let sp = h.salesperson(1, 60).await;
    let (lead, call_id) = h.placed_call(1).await;
    let sid = h.call(&call_id).await.twilio_sid.expect("placed");
    // Write 1 marks the call answered and the lead in call; the process
    // stops before write 2 (the claim of the salesperson).
    crash.crash_at_write(2);
    let input = VoiceInput { answered_by: None, call_sid: Some(sid.clone()) };
    assert!(on_voice(&h.deps, &call_id, input).await.is_err());
    let restarted = h.restarted();
    assert_eq!(h.call(&call_id).await.status, CallStatus::Answered);
    assert_eq!(h.get_lead(&lead.id).await.status, LeadStatus::InCall);
    assert_eq!(h.user(&sp).await, (Availability::Available, None), "nobody was claimed");

    // The person heard nothing and hung up; no callback reached us.
    h.telephony.set_status(&sid, "completed");
    h.advance(Duration::minutes(5) + Duration::seconds(1));
    let out = repairing_tick(&restarted).await.unwrap().recovery.expect("recovery ran");
    assert_eq!((out.checked, out.finished), (1, 1), "{out:?}");
    let call = h.call(&call_id).await;
    assert_eq!((call.status, call.connected_at), (CallStatus::Abandoned, None), "never connected");
    let lead = h.get_lead(&lead.id).await;
    assert_eq!((lead.status, lead.priority), (LeadStatus::RetryScheduled, Priority::Urgent));
    assert_eq!(h.user(&sp).await, (Availability::Available, None));
    assert_eq!(repo::pacing::get(h.store.as_ref()).await.unwrap().in_flight, 0);
}

#[tokio::test]
async fn long_calls_are_checked_once_per_interval_and_never_hold_up_newer_stuck_ones() {
    let h = H::new().await;
    h.settings(|s| s.pacing.max_in_flight = 10).await;
    let opts = RecoveryOptions { max_checks: 2, ..RecoveryOptions::default() };
    // Two long calls in progress at Twilio, then a newer one whose final
    // callback was lost.
    let mut long = Vec::new();
    for n in 1..=2 {
        let (_, call_id) = h.placed_call(n).await;
        let sid = h.call(&call_id).await.twilio_sid.expect("placed");
        h.telephony.set_status(&sid, "in-progress");
        long.push(call_id);
        h.advance(Duration::seconds(1));
    }
    let (stuck_lead, stuck) = h.placed_call(3).await;
    let stuck_sid = h.call(&stuck).await.twilio_sid.expect("placed");
    h.telephony.set_status(&stuck_sid, "no-answer");

    h.advance(Duration::minutes(5) + Duration::seconds(1));
    let first = reconcile_with(&h.deps, &opts).await.unwrap();
    assert_eq!((first.checked, first.still_active, first.finished), (2, 2, 0), "{first:?}");
    // The next run skips the long calls checked a moment ago.
    h.advance(Duration::minutes(1));
    let second = reconcile_with(&h.deps, &opts).await.unwrap();
    assert_eq!((second.checked, second.finished), (1, 1), "{second:?}");
    assert_eq!(h.call(&stuck).await.status, CallStatus::NoAnswer);
    assert_eq!(h.get_lead(&stuck_lead.id).await.status, LeadStatus::RetryScheduled);
    let fetched =
        |sid: &str| h.telephony.requests().iter().filter(|r| **r == TelephonyRequest::Fetch(sid.to_owned())).count();
    let long_sid = h.call(&long[0]).await.twilio_sid.expect("placed");
    assert_eq!(fetched(&long_sid), 1, "checked once in the interval");
    // After the interval they are due again.
    h.advance(Duration::minutes(5));
    let third = reconcile_with(&h.deps, &opts).await.unwrap();
    assert_eq!((third.checked, third.still_active), (2, 2), "{third:?}");
    assert_eq!(fetched(&long_sid), 2);
}

#[tokio::test]
async fn a_finished_calls_marker_is_deleted_and_nudges_run_no_recovery() {
    let h = H::new().await;
    let (_, call_id) = h.placed_call(1).await;
    let sid = h.call(&call_id).await.twilio_sid.expect("placed");
    let done = StatusUpdate { call_sid: Some(sid), ..StatusUpdate::new(TwilioCallStatus::NoAnswer) };
    on_status(&h.deps, &call_id, done).await.unwrap();
    let call = h.call(&call_id).await;
    let markers =
        repo::inflight::created_before(h.store.as_ref(), h.now() + Duration::days(1), 10, None).await.unwrap().0;
    assert!(markers.is_empty(), "the finished call's marker is gone: {markers:?}");
    assert_eq!(call.status, CallStatus::NoAnswer);

    // A stuck call: a nudge's tick leaves it to the scheduled one.
    let (_, stuck) = h.placed_call(2).await;
    let stuck_sid = h.call(&stuck).await.twilio_sid.expect("placed");
    h.telephony.set_status(&stuck_sid, "busy");
    h.advance(Duration::minutes(5) + Duration::seconds(1));
    assert_eq!(tick(&h.deps).await.unwrap().recovery, None);
    assert_eq!(h.call(&stuck).await.status, CallStatus::Created);
    let out = repairing_tick(&h.deps).await.unwrap().recovery.expect("recovery ran");
    assert_eq!(out.finished, 1);
    assert_eq!(h.call(&stuck).await.status, CallStatus::Busy);
}
