//! The dialing engine end to end over local adapters: idempotent claims,
//! pacing, queue order, calling windows (with daylight saving), retries
//! through `finish_call`, do-not-call, Twilio refusals and recovery.

mod dialing_common;

use chrono::Duration;
use dialing_common::*;
use ibrat_domain::{
    Availability, CallId, CallOutcome, CallStatus, EventKind, LeadStatus, Phone, Priority, Region, UserId,
};
use ibrat_ports::{Store, TelephonyError};
use ibrat_services::dialing::due_leads::next_due;
use ibrat_services::dialing::recovery::{reconcile_with, RecoveryOptions};
use ibrat_services::dialing::{
    dial, dial_with, finish_call, handle_message, pause, reconcile, tick, CallEnd, DialOptions, DialOutcome,
    FinishOutcome, MessageOutcome,
};
use ibrat_services::messages::QueueMessage;
use ibrat_services::repo::{self, keys};

fn placed(outcome: &MessageOutcome) -> Option<(CallId, String)> {
    match outcome {
        MessageOutcome::Dial { outcome: DialOutcome::Placed { call_id, sid }, .. } => {
            Some((call_id.clone(), sid.clone()))
        }
        _ => None,
    }
}

fn quick() -> DialOptions {
    DialOptions { backoff: std::time::Duration::from_millis(1), ..DialOptions::default() }
}

#[tokio::test]
async fn the_same_dial_delivered_three_times_gives_one_call() {
    let h = Harness::manual(tuesday_morning());
    h.settings(|_| {}).await;
    h.salespeople(1).await;
    let lead = h.lead(1, Priority::Medium, h.now() - Duration::minutes(1), h.now() - Duration::hours(1)).await;

    let t = tick(&h.deps).await.unwrap();
    assert_eq!((t.available, t.capacity, t.dispatched.clone()), (1, 1, vec![lead.id.clone()]));
    let body = QueueMessage::Dial { lead_id: lead.id.clone(), manual: false }.to_body();
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.push(handle_message(&h.deps, &body).await.unwrap());
    }
    assert!(placed(&outcomes[0]).is_some(), "{outcomes:?}");
    for o in &outcomes[1..] {
        assert!(
            matches!(
                o,
                MessageOutcome::Dial { outcome: DialOutcome::AlreadyClaimed { status: LeadStatus::Dialing }, .. }
            ),
            "{o:?}"
        );
    }
    assert_eq!(h.tel.placed().len(), 1);
    assert_eq!(repo::calls::for_lead(h.store.as_ref(), &lead.id, 10).await.unwrap().len(), 1);
    assert_eq!(h.in_flight().await, 1);

    let req = &h.tel.placed()[0].req;
    let (call_id, sid) = placed(&outcomes[0]).unwrap();
    assert_eq!(req.to, "+998900000001");
    assert_eq!(req.from, h.deps.config.twilio_from);
    assert_eq!(req.url, format!("https://dialer.example.com/twilio/voice?call_id={call_id}"));
    assert_eq!(req.status_callback, format!("https://dialer.example.com/twilio/status?call_id={call_id}"));
    let amd = ibrat_ports::MachineDetection { mode: ibrat_ports::AmdMode::DetectMessageEnd, async_callback: None };
    assert_eq!((req.timeout_secs, req.machine_detection.clone()), (30, Some(amd)));
    let call = repo::calls::get(h.store.as_ref(), &call_id).await.unwrap().unwrap();
    assert_eq!(call.twilio_sid.as_deref(), Some(sid.as_str()));
    assert_eq!(call.status, CallStatus::Created);
    let lead = h.get_lead(&lead.id).await;
    assert_eq!((lead.status, lead.attempts, lead.last_call_id), (LeadStatus::Dialing, 1, Some(call_id)));
}

#[tokio::test]
async fn pacing_never_starts_more_calls_than_salespeople_allow() {
    let h = Harness::manual(tuesday_morning());
    h.settings(|s| s.pacing.ratio = 1.5).await;
    h.salespeople(2).await;
    for n in 0..6 {
        h.lead(n, Priority::Medium, h.now() - Duration::minutes(1), h.now() - Duration::hours(1)).await;
    }
    let t = tick(&h.deps).await.unwrap();
    assert_eq!((t.capacity, t.dispatched.len()), (3, 3));
    let calls: Vec<_> = h.run_dials().await.iter().filter_map(placed).collect();
    assert_eq!(calls.len(), 3);
    assert_eq!(tick(&h.deps).await.unwrap().dispatched.len(), 0, "full: nothing more");

    // A Dial for another lead (say a duplicate from an earlier tick) cannot
    // exceed the cap either.
    let extra = make_lead(5, Priority::Medium, h.now() - Duration::minutes(1), h.now(), Some("Asia/Tashkent"));
    assert_eq!(dial(&h.deps, &extra.id, false).await.unwrap(), DialOutcome::NoCapacity);

    // One call ends: exactly one more may start.
    let end = CallEnd::status(CallStatus::NoAnswer);
    assert!(matches!(finish_call(&h.deps, &calls[0].0, end).await.unwrap(), FinishOutcome::Finished { .. }));
    assert_eq!(h.in_flight().await, 2);
    let t = tick(&h.deps).await.unwrap();
    assert_eq!(t.dispatched.len(), 1);

    // A manual dial uses the global cap instead.
    let manual = h.lead(40, Priority::Low, h.now() + Duration::hours(5), h.now()).await;
    assert!(matches!(dial(&h.deps, &manual.id, true).await.unwrap(), DialOutcome::Placed { .. }));
    assert!(matches!(dial(&h.deps, &manual.id, false).await.unwrap(), DialOutcome::AlreadyClaimed { .. }));
}

#[tokio::test]
async fn due_callbacks_go_first_then_priority_then_due_then_age() {
    let h = Harness::manual(tuesday_morning());
    let now = h.now();
    let old = now - Duration::days(3);
    let low_old = h.lead(1, Priority::Low, now - Duration::hours(2), old).await;
    let urgent_late = h.lead(2, Priority::Urgent, now - Duration::minutes(1), old).await;
    let urgent_early = h.lead(3, Priority::Urgent, now - Duration::minutes(30), old).await;
    let medium_young = h.lead(4, Priority::Medium, now - Duration::minutes(5), now - Duration::hours(1)).await;
    let medium_old = h.lead(5, Priority::Medium, now - Duration::minutes(5), now - Duration::hours(9)).await;
    let _urgent_future = h.lead(6, Priority::Urgent, now + Duration::minutes(1), old).await;
    let mut cb = make_lead(7, Priority::Low, now - Duration::seconds(1), now, Some("Asia/Tashkent"));
    cb.status = LeadStatus::RetryScheduled;
    cb.callback = true;
    h.put_lead(&cb).await;
    let mut cb_future = make_lead(8, Priority::Urgent, now + Duration::hours(1), now, Some("Asia/Tashkent"));
    cb_future.status = LeadStatus::RetryScheduled;
    cb_future.callback = true;
    h.put_lead(&cb_future).await;
    let mut no_zone = make_lead(9, Priority::Urgent, now - Duration::hours(1), old, None);
    no_zone.status = LeadStatus::Pending;
    h.put_lead(&no_zone).await;

    let got: Vec<_> = next_due(h.store.as_ref(), now, 10).await.unwrap().into_iter().map(|l| l.id).collect();
    let want = vec![
        cb.id.clone(),
        urgent_early.id.clone(),
        urgent_late.id.clone(),
        medium_old.id.clone(),
        medium_young.id.clone(),
        low_old.id.clone(),
    ];
    assert_eq!(got, want);
    let first_two: Vec<_> = next_due(h.store.as_ref(), now, 2).await.unwrap().into_iter().map(|l| l.id).collect();
    assert_eq!(first_two, want[..2]);
    assert!(next_due(h.store.as_ref(), now, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn closed_windows_defer_leads_across_a_daylight_saving_change() {
    // Saturday 2026-10-31 21:30 EDT; Sunday is closed; New York falls back to
    // EST on Sunday, so Monday 09:00 local is 14:00Z, not 13:00Z.
    let h = Harness::manual(utc("2026-11-01T01:30:00Z"));
    h.settings(|_| {}).await;
    h.salespeople(2).await;
    let mut ny = make_lead(1, Priority::High, h.now() - Duration::minutes(5), h.now(), Some("America/New_York"));
    ny.phone = Phone::parse("+12125550101", Region::default()).unwrap();
    ny.id = ibrat_domain::LeadId::for_phone(&ny.phone);
    h.put_lead(&ny).await;

    let t = tick(&h.deps).await.unwrap();
    assert_eq!((t.dispatched.len(), t.deferred), (0, 1));
    let lead = h.get_lead(&ny.id).await;
    assert_eq!(lead.next_attempt_at, Some(utc("2026-11-02T14:00:00Z")));
    assert_eq!(lead.status, LeadStatus::Queued);

    // A direct (even manual) dial refuses too, saying when it opens.
    assert_eq!(
        dial(&h.deps, &ny.id, true).await.unwrap(),
        DialOutcome::OutsideWindow { next: utc("2026-11-02T14:00:00Z") }
    );
    h.set_time(utc("2026-11-02T13:59:59Z"));
    assert!(tick(&h.deps).await.unwrap().dispatched.is_empty(), "not due yet");
    h.set_time(utc("2026-11-02T14:00:00Z"));
    assert_eq!(tick(&h.deps).await.unwrap().dispatched, vec![ny.id.clone()]);
    assert_eq!(h.run_dials().await.iter().filter_map(placed).count(), 1);

    // A lead whose zone cannot be read is held, with a reason.
    let mut bad = make_lead(2, Priority::High, h.now() - Duration::minutes(5), h.now(), Some("Mars/Olympus"));
    bad.status = LeadStatus::Queued;
    h.put_lead(&bad).await;
    let t = tick(&h.deps).await.unwrap();
    assert_eq!(t.held, 1);
    let bad = h.get_lead(&bad.id).await;
    assert_eq!(bad.status, LeadStatus::Pending);
    assert!(bad.hold_reason.unwrap().contains("Mars/Olympus"));
}

#[tokio::test]
async fn retries_follow_the_schedule_until_attempts_run_out() {
    let h = Harness::manual(tuesday_morning());
    let settings = h.settings(|_| {}).await;
    h.salespeople(1).await;
    let lead = h.lead(1, Priority::Medium, h.now(), h.now() - Duration::days(1)).await;
    let tz = chrono_tz::Asia::Tashkent;
    let outcomes = [CallStatus::NoAnswer, CallStatus::Busy, CallStatus::Machine, CallStatus::Failed];
    let delays = [600, 3600, 4 * 3600, 24 * 3600];
    for (i, status) in outcomes.iter().enumerate() {
        let t = tick(&h.deps).await.unwrap();
        assert_eq!(t.dispatched, vec![lead.id.clone()], "attempt {}", i + 1);
        let (call_id, _) = h.run_dials().await.iter().find_map(placed).expect("placed");
        let finished = finish_call(&h.deps, &call_id, CallEnd::status(*status)).await.unwrap();
        let want = settings.calling_window.next_open(h.now() + Duration::seconds(delays[i]), tz);
        assert_eq!(
            finished,
            FinishOutcome::Finished { lead_status: LeadStatus::RetryScheduled, next_attempt_at: Some(want) }
        );
        // A second terminal status is a duplicate and changes nothing.
        let again = finish_call(&h.deps, &call_id, CallEnd::status(CallStatus::Completed)).await.unwrap();
        assert_eq!(again, FinishOutcome::AlreadyFinished);
        let l = h.get_lead(&lead.id).await;
        assert_eq!((l.status, l.attempts, l.next_attempt_at), (LeadStatus::RetryScheduled, i as u32 + 1, Some(want)));
        assert_eq!(h.in_flight().await, 0);
        assert!(tick(&h.deps).await.unwrap().dispatched.is_empty(), "not due before its retry time");
        h.set_time(want);
    }
    // First retry after 10 minutes, second after an hour (both in the window).
    let t = tick(&h.deps).await.unwrap();
    assert_eq!(t.dispatched.len(), 1);
    let (call_id, _) = h.run_dials().await.iter().find_map(placed).unwrap();
    let last = finish_call(&h.deps, &call_id, CallEnd::status(CallStatus::NoAnswer)).await.unwrap();
    assert_eq!(last, FinishOutcome::Finished { lead_status: LeadStatus::NoMoreAttempts, next_attempt_at: None });
    assert!(tick(&h.deps).await.unwrap().dispatched.is_empty());

    let days: Vec<String> = (0..4).map(|d| keys::day(tuesday_morning() + Duration::days(d))).collect();
    let stats = repo::stats::get_days(h.store.as_ref(), &days).await.unwrap();
    let sum = |f: fn(&repo::stats::DailyStats) -> i64| stats.iter().map(f).sum::<i64>();
    assert_eq!(sum(|s| s.calls), 5);
    assert_eq!((sum(|s| s.no_answer), sum(|s| s.busy), sum(|s| s.machine), sum(|s| s.failed)), (2, 1, 1, 1));
    assert_eq!(
        finish_call(&h.deps, &CallId::new(), CallEnd::status(CallStatus::Busy)).await.unwrap(),
        FinishOutcome::UnknownCall
    );
    assert!(finish_call(&h.deps, &call_id, CallEnd::status(CallStatus::Ringing)).await.is_err());
}

#[tokio::test]
async fn abandoned_leads_become_urgent_and_connected_ones_complete() {
    let h = Harness::manual(tuesday_morning());
    h.settings(|s| s.wrap_up_secs = 0).await;
    let sp = h.salespeople(2).await;
    let a = h.lead(1, Priority::Low, h.now(), h.now()).await;
    let b = h.lead(2, Priority::Low, h.now(), h.now()).await;
    tick(&h.deps).await.unwrap();
    let calls: Vec<_> = h.run_dials().await.iter().filter_map(placed).collect();
    assert_eq!(calls.len(), 2);
    let call_of = |lead: &ibrat_domain::LeadId| {
        let h = &h;
        let lead = lead.clone();
        async move { h.get_lead(&lead).await.last_call_id.unwrap() }
    };
    let (ca, cb) = (call_of(&a.id).await, call_of(&b.id).await);

    // a: answered, nobody free → abandoned.
    answer(&h, &ca, None).await;
    let f = finish_call(&h.deps, &ca, CallEnd::status(CallStatus::Abandoned)).await.unwrap();
    assert_eq!(
        f,
        FinishOutcome::Finished {
            lead_status: LeadStatus::RetryScheduled,
            next_attempt_at: Some(h.now() + Duration::seconds(120))
        }
    );
    assert_eq!(h.get_lead(&a.id).await.priority, Priority::Urgent);

    // b: bridged to a salesperson who is on the call → completed, wrap-up.
    answer(&h, &cb, Some(&sp[0])).await;
    let end = CallEnd { talk_secs: Some(61), ..CallEnd::status(CallStatus::Completed) };
    let f = finish_call(&h.deps, &cb, end).await.unwrap();
    assert_eq!(f, FinishOutcome::Finished { lead_status: LeadStatus::Completed, next_attempt_at: None });
    let lead = h.get_lead(&b.id).await;
    assert_eq!(lead.salesperson_id.as_ref(), Some(&sp[0]));
    let user = repo::users::get(h.store.as_ref(), &sp[0]).await.unwrap().unwrap();
    assert_eq!(user.user.availability, Availability::WrapUp);
    let call = repo::calls::get(h.store.as_ref(), &cb).await.unwrap().unwrap();
    assert_eq!((call.outcome, call.talk_secs), (Some(CallOutcome::Connected), Some(61)));
    assert!(h.events.kinds().iter().any(|k| matches!(k, EventKind::CallCompleted { call_id, .. } if *call_id == cb)));

    // The wrap-up ends through its message, once.
    let msgs = h.take_messages().await;
    let wrap = msgs.iter().find(|m| m.contains("wrap_up_end")).expect("wrap-up end queued").clone();
    assert!(msgs.iter().any(|m| m.contains("nudge")));
    let out = handle_message(&h.deps, &wrap).await.unwrap();
    assert_eq!(out, MessageOutcome::WrapUpEnded { user_id: sp[0].clone() });
    let user = repo::users::get(h.store.as_ref(), &sp[0]).await.unwrap().unwrap();
    assert_eq!(user.user.availability, Availability::Available);
    assert_eq!(handle_message(&h.deps, &wrap).await.unwrap(), MessageOutcome::WrapUpStale { user_id: sp[0].clone() });
}

/// What callflow does when a call is answered (and, with `sp`, routed to
/// that salesperson's room, the lead's leg seen joining it).
async fn answer(h: &Harness, call_id: &CallId, sp: Option<&UserId>) {
    let call = repo::calls::get(h.store.as_ref(), call_id).await.unwrap().unwrap();
    let mut lead = h.get_lead(&call.lead_id).await;
    let mut c = call.clone();
    c.status = if sp.is_some() { CallStatus::Bridged } else { CallStatus::Answered };
    c.answered_at = Some(ms(h.now()));
    c.salesperson_id = sp.cloned();
    if sp.is_some() {
        // Routed into the salesperson's room, and the lead's join was seen.
        c.bridged_at = Some(ms(h.now()));
        c.connected_at = Some(ms(h.now()));
    }
    let mut ops = vec![repo::calls::save_op(&mut c)];
    lead.status = LeadStatus::InCall;
    ops.push(repo::leads::save_op(&mut lead));
    if let Some(sp) = sp {
        let update = repo::users::availability_update(sp, Availability::OnCall, h.now())
            .set("current_call_id", call_id.as_str());
        ops.push(ibrat_ports::WriteOp::Update { key: keys::user(sp), update, condition: None });
    }
    h.store.transact_write(ops).await.unwrap();
}

#[tokio::test]
async fn a_number_added_to_do_not_call_after_queueing_is_never_dialed() {
    let h = Harness::manual(tuesday_morning());
    h.settings(|_| {}).await;
    h.salespeople(1).await;
    let lead = h.lead(1, Priority::Urgent, h.now(), h.now()).await;
    assert_eq!(tick(&h.deps).await.unwrap().dispatched.len(), 1);
    h.store.put(repo::dnc::to_item(&lead.phone, Some("asked"), h.now()), None).await.unwrap();
    let out = h.run_dials().await;
    assert!(matches!(&out[..], [MessageOutcome::Dial { outcome: DialOutcome::DoNotCall, .. }]), "{out:?}");
    assert!(h.tel.placed().is_empty());
    assert_eq!(h.get_lead(&lead.id).await.status, LeadStatus::DoNotCall);
    assert_eq!(h.in_flight().await, 0);
    assert!(tick(&h.deps).await.unwrap().dispatched.is_empty());
}

#[tokio::test]
async fn twilio_refusals_are_mapped() {
    let h = Harness::manual(tuesday_morning());
    h.settings(|_| {}).await;
    h.salespeople(5).await;

    // Invalid number: lead invalid, no retry.
    let a = h.lead(1, Priority::Medium, h.now(), h.now()).await;
    tick(&h.deps).await.unwrap();
    h.take_messages().await;
    h.tel.fail_next([TelephonyError::InvalidNumber { code: 21211, message: "bad".into() }]);
    let out = dial_with(&h.deps, &a.id, false, &quick()).await.unwrap();
    assert!(matches!(out, DialOutcome::InvalidNumber { code: 21211, .. }), "{out:?}");
    assert_eq!(h.get_lead(&a.id).await.status, LeadStatus::Invalid);
    assert_eq!(h.in_flight().await, 0);

    // Rate limited once, then accepted.
    let b = h.lead(2, Priority::Medium, h.now(), h.now()).await;
    h.tel.fail_next([TelephonyError::RateLimited { retry_after_secs: None }]);
    let out = dial_with(&h.deps, &b.id, false, &quick()).await.unwrap();
    assert!(matches!(out, DialOutcome::Placed { .. }), "{out:?}");

    // Unavailable every time: the claim is given back, nothing stuck.
    let c = h.lead(3, Priority::Medium, h.now(), h.now()).await;
    h.tel.fail_next(std::iter::repeat_n(TelephonyError::Unavailable("503".into()), 3));
    let out = dial_with(&h.deps, &c.id, false, &quick()).await.unwrap();
    assert!(matches!(out, DialOutcome::Requeued { .. }), "{out:?}");
    let l = h.get_lead(&c.id).await;
    assert_eq!((l.status, l.attempts), (LeadStatus::Queued, 0));
    assert_eq!(l.next_attempt_at, Some(h.now() + Duration::seconds(60)));
    assert_eq!(h.in_flight().await, 1, "only b is in flight");

    // Credentials refused: claim given back, dialing paused, alert raised.
    let d = h.lead(4, Priority::Medium, h.now(), h.now()).await;
    h.tel.fail_next([TelephonyError::Auth("20003".into())]);
    let out = dial_with(&h.deps, &d.id, false, &quick()).await.unwrap();
    assert!(matches!(out, DialOutcome::AuthRefused { .. }), "{out:?}");
    assert_eq!(h.get_lead(&d.id).await.status, LeadStatus::Queued);
    assert!(h.events.kinds().iter().any(|k| matches!(k, EventKind::Alert { code, .. } if code == "twilio_auth")));
    let t = tick(&h.deps).await.unwrap();
    assert!(t.paused && t.dispatched.is_empty());
    assert_eq!(dial(&h.deps, &d.id, false).await.unwrap(), DialOutcome::Paused);
    pause::resume(&h.deps).await.unwrap();
    let t = tick(&h.deps).await.unwrap();
    assert_eq!(t.dispatched, vec![d.id.clone()]);

    // Any other refusal: the call failed and the retry policy applies.
    let e = h.lead(5, Priority::Medium, h.now(), h.now()).await;
    h.tel.fail_next([TelephonyError::Rejected { code: 21210, message: "unverified caller id".into() }]);
    let out = dial_with(&h.deps, &e.id, true, &quick()).await.unwrap();
    assert!(matches!(out, DialOutcome::Rejected { code: 21210, .. }), "{out:?}");
    assert_eq!(h.get_lead(&e.id).await.status, LeadStatus::RetryScheduled);
}

#[tokio::test]
async fn recovery_finishes_or_requeues_calls_nobody_heard_about() {
    let h = Harness::manual(tuesday_morning());
    h.settings(|_| {}).await;
    h.salespeople(4).await;
    futures_leads(&h, 4).await;
    tick(&h.deps).await.unwrap();
    let calls: Vec<_> = h.run_dials().await.iter().filter_map(placed).collect();
    assert_eq!(calls.len(), 4);
    let mut leads = Vec::new();
    for (call_id, _) in &calls {
        leads.push(repo::calls::get(h.store.as_ref(), call_id).await.unwrap().unwrap().lead_id);
    }
    // 0: Twilio says no-answer (its final callback was lost).
    h.tel.set_remote(&calls[0].1, "no-answer", None, Some(0));
    // 1: Twilio never heard of it.
    // 2: still ringing at Twilio.
    h.tel.set_remote(&calls[2].1, "in-progress", Some("human"), None);
    // 3: progress seen recently: not stale.
    h.tel.set_remote(&calls[3].1, "completed", Some("human"), Some(30));

    h.advance(Duration::minutes(3));
    let mut c3 = repo::calls::get(h.store.as_ref(), &calls[3].0).await.unwrap().unwrap();
    c3.status = CallStatus::Ringing;
    c3.ringing_at = Some(ms(h.now()));
    h.store.transact_write(vec![repo::calls::save_op(&mut c3)]).await.unwrap();
    assert_eq!(reconcile(&h.deps).await.unwrap().checked, 0, "nothing stale yet");

    h.advance(Duration::minutes(3));
    let r = reconcile(&h.deps).await.unwrap();
    assert_eq!((r.checked, r.finished, r.requeued, r.still_active), (3, 1, 1, 1), "{r:?}");
    assert_eq!(h.get_lead(&leads[0]).await.status, LeadStatus::RetryScheduled);
    let requeued = h.get_lead(&leads[1]).await;
    assert_eq!((requeued.status, requeued.attempts), (LeadStatus::Queued, 0));
    assert_eq!(h.get_lead(&leads[2]).await.status, LeadStatus::Dialing);
    assert_eq!(h.in_flight().await, 2);

    // Later, with a short threshold, the call with fresh progress is checked
    // too; the one found in progress a moment ago is not asked about again
    // within its interval.
    let opts = RecoveryOptions { stale_after: Duration::minutes(1), ..RecoveryOptions::default() };
    let r = reconcile_with(&h.deps, &opts).await.unwrap();
    assert_eq!((r.checked, r.finished, r.still_active), (1, 1, 0), "{r:?}");
    let c3 = repo::calls::get(h.store.as_ref(), &calls[3].0).await.unwrap().unwrap();
    assert_eq!(c3.status, CallStatus::Failed, "answered but never bridged: retried");

    // The requeued lead is dialed again, once.
    let t = tick(&h.deps).await.unwrap();
    assert!(t.dispatched.contains(&leads[1]));
    assert_eq!(h.run_dials().await.iter().filter_map(placed).count(), 1);
}

async fn futures_leads(h: &Harness, n: u32) -> Vec<ibrat_domain::LeadId> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(h.lead(i, Priority::Medium, h.now(), h.now() - Duration::minutes(i as i64 + 1)).await.id);
    }
    ids
}

#[tokio::test]
async fn malformed_messages_are_dropped_and_nudges_tick() {
    let h = Harness::manual(tuesday_morning());
    for body in ["", "{", r#"{"kind":"dial","lead_id":"nope"}"#, r#"{"kind":"explode"}"#] {
        assert!(matches!(handle_message(&h.deps, body).await.unwrap(), MessageOutcome::Dropped { .. }), "{body}");
    }
    let out = handle_message(&h.deps, &QueueMessage::Nudge.to_body()).await.unwrap();
    assert!(matches!(out, MessageOutcome::Tick(_)));
    let missing = ibrat_domain::LeadId::parse("ld_0123456789abcdef01234567").unwrap();
    assert_eq!(dial(&h.deps, &missing, false).await.unwrap(), DialOutcome::NotFound);
}
