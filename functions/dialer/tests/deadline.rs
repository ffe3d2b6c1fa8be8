//! The dialer's time budget: whatever Twilio and the call rate do, placing
//! ends by the batch's deadline, well inside the function's timeout. A
//! request Twilio has not answered by then is never resent (the call is
//! left unknown, for recovery); anything else gives the claim back or has
//! the message redelivered. Time is tokio's paused clock under the kit's
//! running `TestClock`.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use ibrat_domain::{CallStatus, LeadStatus};
use ibrat_ports::TelephonyError;
use ibrat_services::dialing::{dial_with, DialOptions, DialOutcome};
use ibrat_services::messages::QueueMessage;
use ibrat_services::repo;
use ibrat_testkit::{lambda, lead, TestDeps};

/// A kit with a running clock, a stored cap and one due lead.
async fn kit(calls_per_second: u32) -> (TestDeps, ibrat_domain::Lead) {
    let kit = TestDeps::builder().running_clock().config(|c| c.dial_budget = Duration::from_secs(40)).build();
    kit.settings(|s| s.pacing.calls_per_second = calls_per_second).await;
    repo::pacing::set_cap(kit.store.as_ref(), 5, kit.now()).await.unwrap();
    let l = lead(1, kit.now()).store(kit.store.as_ref()).await;
    (kit, l)
}

fn budget(kit: &TestDeps) -> DialOptions {
    fn_dialer::batch_options(&kit.deps)
}

#[tokio::test(start_paused = true)]
async fn a_twilio_request_unanswered_at_the_deadline_is_left_unknown_and_never_resent() {
    let (kit, l) = kit(100).await;
    let opts = budget(&kit);
    let deadline = opts.deadline.unwrap();
    assert_eq!(deadline, kit.now() + chrono::Duration::seconds(40));
    kit.telephony.delay_next([Duration::from_secs(600)]);
    let outcome = dial_with(&kit.deps, &l.id, false, &opts).await.unwrap();
    let DialOutcome::Unknown { call_id, reason } = outcome else { panic!("expected unknown, got {outcome:?}") };
    assert!(reason.contains("time budget"), "{reason}");
    assert!(kit.now() <= deadline + chrono::Duration::milliseconds(1), "ended at the deadline: {}", kit.now());
    assert_eq!(kit.telephony.create_attempts.load(std::sync::atomic::Ordering::SeqCst), 1, "never resent");
    // Left claimed for recovery: the call waits for its SID, the lead is dialing.
    let call = repo::calls::get(kit.store.as_ref(), &call_id).await.unwrap().unwrap();
    assert_eq!((call.status, call.twilio_sid), (CallStatus::Created, None));
    let stored = repo::leads::get(kit.store.as_ref(), &l.id).await.unwrap().unwrap();
    assert_eq!(stored.status, LeadStatus::Dialing);
}

#[tokio::test(start_paused = true)]
async fn a_backoff_that_would_overrun_the_budget_gives_the_claim_back() {
    let (kit, l) = kit(100).await;
    let opts = DialOptions { max_backoff: Duration::from_secs(30), ..budget(&kit) };
    let deadline = opts.deadline.unwrap();
    // Twilio is slow, then rate limits asking for 25 s: the retry would end past the deadline.
    kit.telephony.delay_next([Duration::from_secs(9)]);
    kit.telephony.fail_next([TelephonyError::RateLimited { retry_after_secs: Some(25) }]);
    let outcome = dial_with(&kit.deps, &l.id, false, &opts).await.unwrap();
    assert!(matches!(outcome, DialOutcome::Requeued { ref reason, .. } if reason.contains("budget")), "{outcome:?}");
    assert!(kit.now() < deadline, "gave up before the deadline");
    assert_eq!(kit.telephony.create_attempts.load(std::sync::atomic::Ordering::SeqCst), 1);
    let stored = repo::leads::get(kit.store.as_ref(), &l.id).await.unwrap().unwrap();
    assert_eq!(stored.status, LeadStatus::Queued, "the lead returns to the queue");
}

#[tokio::test(start_paused = true)]
async fn no_call_rate_slot_within_the_budget_gives_the_claim_back_without_calling() {
    let (kit, l) = kit(1).await;
    // Other dialers hold every slot for the next 35 seconds: 5 s would be left, under a request's 10.
    let first = kit.now().timestamp();
    for second in first..first + 35 {
        assert!(repo::rate::try_take(kit.store.as_ref(), second, 1).await.unwrap());
    }
    let opts = budget(&kit);
    let outcome = dial_with(&kit.deps, &l.id, false, &opts).await.unwrap();
    assert!(matches!(outcome, DialOutcome::Requeued { .. }), "{outcome:?}");
    assert_eq!(kit.telephony.create_attempts.load(std::sync::atomic::Ordering::SeqCst), 0);
    // Without the budget it would have waited for the slot at +35 s and called.
    let (kit, l) = self::kit(1).await;
    let first = kit.now().timestamp();
    for second in first..first + 25 {
        assert!(repo::rate::try_take(kit.store.as_ref(), second, 1).await.unwrap());
    }
    let outcome = dial_with(&kit.deps, &l.id, false, &budget(&kit)).await.unwrap();
    assert!(matches!(outcome, DialOutcome::Placed { .. }), "a slot inside the budget is waited for: {outcome:?}");
}

#[tokio::test(start_paused = true)]
async fn a_record_whose_budget_is_spent_before_its_claim_is_redelivered_untouched() {
    let (kit, l) = kit(100).await;
    let body = QueueMessage::Dial { lead_id: l.id.clone(), manual: false }.to_body();
    let event: SqsEvent = serde_json::from_value(lambda::sqs_event(&[("m-1", body.as_str())])).unwrap();
    // The batch started 35 s ago: 5 s are left, less than a Twilio request needs.
    let mut opts = budget(&kit);
    opts.deadline = opts.deadline.map(|d| d - chrono::Duration::seconds(35));
    let response = fn_dialer::handle_batch_with(&kit.deps, event, &opts).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec!["m-1".to_owned()]);
    assert_eq!(kit.telephony.create_attempts.load(std::sync::atomic::Ordering::SeqCst), 0);
    let stored = repo::leads::get(kit.store.as_ref(), &l.id).await.unwrap().unwrap();
    assert_eq!(stored.status, LeadStatus::Queued, "not claimed");

    // With its whole budget the same record is dialed.
    let event: SqsEvent = serde_json::from_value(lambda::sqs_event(&[("m-2", body.as_str())])).unwrap();
    let response = fn_dialer::handle_batch(&kit.deps, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(kit.telephony.placed().len(), 1);
}
