//! Recovery over the test kit: a call whose placement was never confirmed
//! (no SID recorded) is resolved by asking Twilio before its lead may be
//! dialed again, and the process stopping between two writes of the flow
//! (crash points) leaves a state the scheduler's tick repairs.

mod flow_common;

use std::sync::atomic::Ordering;

use chrono::Duration;
use flow_common::H;
use ibrat_domain::{Availability, CallStatus, LeadStatus, Priority};
use ibrat_ports::TelephonyError;
use ibrat_services::callflow::{on_voice, VoiceInput};
use ibrat_services::dialing::{dial, reconcile, tick, DialOutcome};
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
    let out = tick(&restarted).await.unwrap().recovery.expect("recovery ran");
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
    let out = tick(&restarted).await.unwrap().recovery.expect("recovery ran");
    assert_eq!((out.checked, out.finished), (1, 1), "{out:?}");
    let call = h.call(&call_id).await;
    assert_eq!((call.status, call.connected_at), (CallStatus::Abandoned, None), "never connected");
    let lead = h.get_lead(&lead.id).await;
    assert_eq!((lead.status, lead.priority), (LeadStatus::RetryScheduled, Priority::Urgent));
    assert_eq!(h.user(&sp).await, (Availability::Available, None));
    assert_eq!(repo::pacing::get(h.store.as_ref()).await.unwrap().in_flight, 0);
}
