//! The call flow over local adapters: calls placed by the real dialer, then
//! driven through status, voice and room (conference) steps. The HTTP-level
//! tests (with signed Twilio requests) live in `ibrat-http`; these check the
//! races and the truth of the call record.

mod flow_common;

use std::collections::HashSet;

use chrono::Duration;
use flow_common::{ms, H};
use ibrat_domain::{Availability, CallId, CallOutcome, CallStatus, Disposition, EventKind, LeadStatus, Priority};
use ibrat_ports::Store;
use ibrat_services::callflow::{
    on_room_leg, on_status, on_voice, settle, HangupReason, IgnoreReason, RoomLeg, StatusOutcome, StatusUpdate,
    TwilioCallStatus, VoiceDecision, VoiceInput,
};
use ibrat_services::dialing::{handle_message, FinishOutcome, MessageOutcome};
use ibrat_services::messages::QueueMessage;
use ibrat_services::repo;

fn update(status: TwilioCallStatus, seq: u32) -> StatusUpdate {
    StatusUpdate { sequence: Some(seq), ..StatusUpdate::new(status) }
}

fn person(sid: &str) -> VoiceInput {
    VoiceInput { answered_by: None, call_sid: Some(sid.to_owned()) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_answers_never_share_a_salesperson() {
    let h = H::new().await;
    let a = h.salesperson(1, 300).await;
    let b = h.salesperson(2, 200).await;
    let mut calls = Vec::new();
    for n in 0..6 {
        let (_, call_id) = h.placed_call(n).await;
        on_status(&h.deps, &call_id, update(TwilioCallStatus::Ringing, 1)).await.unwrap();
        calls.push(call_id);
    }
    let tasks: Vec<_> = calls
        .iter()
        .map(|id| {
            let deps = h.deps.clone();
            let id = id.clone();
            tokio::spawn(async move { (id.clone(), on_voice(&deps, &id, VoiceInput::default()).await.unwrap()) })
        })
        .collect();
    let mut routed = Vec::new();
    let mut abandoned = 0;
    for t in tasks {
        match t.await.unwrap() {
            (id, VoiceDecision::JoinRoom(j)) => routed.push((id, j.salesperson_id)),
            (_, VoiceDecision::Abandon { message }) => {
                assert!(message.contains("Ibrat") && message.contains("+998712000000"), "{message}");
                abandoned += 1;
            }
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((routed.len(), abandoned), (2, 4), "{routed:?}");
    let people: HashSet<_> = routed.iter().map(|(_, sp)| sp.clone()).collect();
    assert_eq!(people, HashSet::from([a.clone(), b.clone()]));
    for (call_id, sp) in &routed {
        assert_eq!(h.user(sp).await, (Availability::OnCall, Some(call_id.to_string())));
        let call = h.call(call_id).await;
        assert_eq!((call.status, call.salesperson_id.as_ref()), (CallStatus::Bridged, Some(sp)));
        assert_eq!(call.connected_at, None, "routed is not connected");
    }
    // Every abandoned call is finished with its safe-harbor time, its lead
    // rescheduled urgently.
    for id in calls.iter().filter(|id| !routed.iter().any(|(b, _)| b == *id)) {
        let call = h.call(id).await;
        assert_eq!(call.status, CallStatus::Abandoned);
        assert!(call.safe_harbor_at.is_some() && call.answered_at.is_some());
        let lead = repo::leads::get(h.store.as_ref(), &call.lead_id).await.unwrap().unwrap();
        assert_eq!((lead.status, lead.priority), (LeadStatus::RetryScheduled, Priority::Urgent));
    }
    assert_eq!(repo::pacing::get(h.store.as_ref()).await.unwrap().in_flight, 2);
}

#[tokio::test]
async fn only_a_salesperson_whose_line_is_up_is_routed() {
    let h = H::new().await;
    let _no_line = h.salesperson_without_line(1, 900).await;
    let with_line = h.salesperson(2, 10).await;
    let (_, call_id) = h.placed_call(1).await;
    let decision = on_voice(&h.deps, &call_id, VoiceInput::default()).await.unwrap();
    let VoiceDecision::JoinRoom(join) = decision else { panic!("{decision:?}") };
    assert_eq!(join.salesperson_id, with_line, "the longer-idle one has no open line");
    let (_, second) = h.placed_call(2).await;
    let decision = on_voice(&h.deps, &second, VoiceInput::default()).await.unwrap();
    assert!(matches!(decision, VoiceDecision::Abandon { .. }), "{decision:?}");
}

#[tokio::test]
async fn the_longest_idle_salesperson_gets_the_screen_pop_then_the_lead() {
    let h = H::new().await;
    let _recent = h.salesperson(1, 10).await;
    let oldest = h.salesperson(2, 900).await;
    let _middle = h.salesperson(3, 300).await;
    // An earlier call of this lead carries a disposition.
    let (mut lead, call_id) = h.placed_call(1).await;
    let mut old = ibrat_domain::Call::new(CallId::new(), lead.id.clone(), 0, ms(h.now() - Duration::days(1)));
    old.status = CallStatus::Completed;
    old.disposition = Some(Disposition::NotInterested);
    h.store.put(repo::calls::to_item(&old), None).await.unwrap();
    lead = repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap();
    lead.custom.insert("city".into(), "Samarkand".into());
    h.store.put(repo::leads::to_item(&lead), None).await.unwrap();

    let sid = h.call(&call_id).await.twilio_sid.unwrap();
    let decision = on_voice(&h.deps, &call_id, person(&sid)).await.unwrap();
    let VoiceDecision::JoinRoom(join) = decision else { panic!("{decision:?}") };
    assert_eq!((join.salesperson_id.clone(), join.room.clone()), (oldest.clone(), format!("agent-{oldest}")));
    let kinds = h.kinds();
    let incoming = kinds.iter().position(|k| *k == "call_incoming").unwrap();
    let bridged = kinds.iter().position(|k| *k == "call_bridged").unwrap();
    assert!(incoming < bridged, "{kinds:?}");
    let pop = h.events().into_iter().find_map(|k| match k {
        EventKind::CallIncoming { custom_fields, last_disposition, attempts, lead_name, .. } => {
            Some((custom_fields, last_disposition, attempts, lead_name))
        }
        _ => None,
    });
    let (custom, last, attempts, name) = pop.unwrap();
    assert_eq!(custom.get("city").map(String::as_str), Some("Samarkand"));
    assert_eq!((last.as_deref(), attempts, name.as_str()), (Some("not_interested"), 1, "Lead 1"));
    assert_eq!(repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap().status, LeadStatus::InCall);
    assert!(h.call(&call_id).await.answered_at.is_some());
    // A repeated voice request answers the same room and claims nobody else.
    let again = on_voice(&h.deps, &call_id, person(&sid)).await.unwrap();
    assert_eq!(again, VoiceDecision::JoinRoom(join));
    assert_eq!(repo::users::available(h.store.as_ref(), 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_voice_request_for_another_twilio_call_is_hung_up() {
    let h = H::new().await;
    h.salesperson(1, 60).await;
    let (_, call_id) = h.placed_call(1).await;
    let decision = on_voice(&h.deps, &call_id, person("CAffffffffffffffffffffffffffffffff")).await.unwrap();
    assert_eq!(decision, VoiceDecision::Hangup { reason: HangupReason::SidMismatch });
    let call = h.call(&call_id).await;
    assert_eq!((call.status, call.salesperson_id), (CallStatus::Created, None));
}

#[tokio::test]
async fn replays_and_late_statuses_change_nothing() {
    let h = H::new().await;
    let (lead, call_id) = h.placed_call(1).await;
    let ringing = on_status(&h.deps, &call_id, update(TwilioCallStatus::Ringing, 1)).await.unwrap();
    assert_eq!(ringing, StatusOutcome::Progressed { status: CallStatus::Ringing });
    assert_eq!(repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap().status, LeadStatus::Ringing);
    let replay = on_status(&h.deps, &call_id, update(TwilioCallStatus::Ringing, 1)).await.unwrap();
    assert_eq!(replay, StatusOutcome::Ignored { reason: IgnoreReason::Replay });
    let late = on_status(&h.deps, &call_id, update(TwilioCallStatus::Initiated, 0)).await.unwrap();
    assert_eq!(late, StatusOutcome::Ignored { reason: IgnoreReason::Replay });
    // Without sequence numbers the lifecycle still refuses going back.
    let late = on_status(&h.deps, &call_id, StatusUpdate::new(TwilioCallStatus::Initiated)).await.unwrap();
    assert_eq!(late, StatusOutcome::Ignored { reason: IgnoreReason::Stale });

    let done = StatusUpdate { duration: Some(0), ..update(TwilioCallStatus::NoAnswer, 2) };
    let out = on_status(&h.deps, &call_id, done.clone()).await.unwrap();
    assert!(matches!(
        out,
        StatusOutcome::Finished { status: CallStatus::NoAnswer, outcome: FinishOutcome::Finished { .. } }
    ));
    let before = h.call(&call_id).await;
    let again = on_status(&h.deps, &call_id, done).await.unwrap();
    assert!(matches!(again, StatusOutcome::Finished { outcome: FinishOutcome::AlreadyFinished, .. }));
    let late = on_status(&h.deps, &call_id, StatusUpdate::new(TwilioCallStatus::Ringing)).await.unwrap();
    assert_eq!(late, StatusOutcome::Ignored { reason: IgnoreReason::Stale });
    assert_eq!(h.call(&call_id).await, before);
    assert!(matches!(
        on_status(&h.deps, &CallId::new(), update(TwilioCallStatus::Ringing, 1)).await.unwrap(),
        StatusOutcome::UnknownCall
    ));
    let lead = repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap();
    assert_eq!(lead.status, LeadStatus::RetryScheduled);
}

#[tokio::test]
async fn connected_only_when_the_lead_joins_and_over_when_it_leaves() {
    let h = H::new().await;
    let sp = h.salesperson(1, 900).await;
    let (lead, call_id) = h.placed_call(1).await;
    let sid = h.call(&call_id).await.twilio_sid.unwrap();
    let claimed = ms(h.now());
    on_voice(&h.deps, &call_id, person(&sid)).await.unwrap();
    let legs = repo::calls::salesperson_legs(h.store.as_ref(), &sp).await.unwrap();
    assert_eq!((&legs[0].call_id, legs[0].claimed_at, legs[0].released_at), (&call_id, claimed, None));

    // Another leg in the room (not this call's) changes nothing.
    let stranger = on_room_leg(&h.deps, &sp, "CA00000000000000000000000000000bad", RoomLeg::Joined).await.unwrap();
    assert_eq!(stranger, None);
    assert_eq!(h.call(&call_id).await.connected_at, None);

    h.clock.advance(Duration::milliseconds(400));
    let joined = ms(h.now());
    assert_eq!(on_room_leg(&h.deps, &sp, &sid, RoomLeg::Joined).await.unwrap(), Some(call_id.clone()));
    assert_eq!(on_room_leg(&h.deps, &sp, &sid, RoomLeg::Joined).await.unwrap(), Some(call_id.clone()));
    assert_eq!(h.call(&call_id).await.connected_at, Some(joined));
    let connected = h.events().iter().filter(|k| matches!(k, EventKind::CallConnected { .. })).count();
    assert_eq!(connected, 1, "a duplicate join emits nothing");

    h.clock.advance(Duration::seconds(75));
    let left = ms(h.now());
    assert_eq!(on_room_leg(&h.deps, &sp, &sid, RoomLeg::Left).await.unwrap(), Some(call_id.clone()));
    let call = h.call(&call_id).await;
    assert_eq!(
        (call.status, call.outcome, call.talk_secs),
        (CallStatus::Completed, Some(CallOutcome::Connected), Some(75))
    );
    assert_eq!(h.user(&sp).await, (Availability::WrapUp, None));
    let legs = repo::calls::salesperson_legs(h.store.as_ref(), &sp).await.unwrap();
    assert_eq!(legs[0].released_at, Some(left));
    assert_eq!(repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap().status, LeadStatus::Completed);
    // The final status afterwards is a duplicate.
    let done =
        StatusUpdate { call_sid: Some(sid.clone()), duration: Some(76), ..update(TwilioCallStatus::Completed, 5) };
    let out = on_status(&h.deps, &call_id, done).await.unwrap();
    assert!(matches!(out, StatusOutcome::Finished { outcome: FinishOutcome::AlreadyFinished, .. }), "{out:?}");
    assert_eq!(h.call(&call_id).await.talk_secs, Some(75));
}

#[tokio::test]
async fn a_final_status_before_the_join_never_closes_the_call_as_connected() {
    let h = H::new().await;
    let sp = h.salesperson(1, 900).await;
    // Reordered: the final status comes first, the join later.
    let (_, late_join) = h.placed_call(1).await;
    let sid = h.call(&late_join).await.twilio_sid.unwrap();
    on_voice(&h.deps, &late_join, person(&sid)).await.unwrap();
    h.clock.advance(Duration::seconds(30));
    let done =
        StatusUpdate { call_sid: Some(sid.clone()), duration: Some(30), ..update(TwilioCallStatus::Completed, 4) };
    let out = on_status(&h.deps, &late_join, done).await.unwrap();
    assert_eq!(out, StatusOutcome::Ignored { reason: IgnoreReason::AwaitingRoom });
    assert_eq!(h.call(&late_join).await.status, CallStatus::Bridged);
    on_room_leg(&h.deps, &sp, &sid, RoomLeg::Joined).await.unwrap();
    let body = QueueMessage::SettleCall { call_id: late_join.clone() }.to_body();
    let settled = handle_message(&h.deps, &body).await.unwrap();
    assert!(matches!(settled, MessageOutcome::Settled { outcome: FinishOutcome::Finished { .. }, .. }), "{settled:?}");
    assert_eq!(h.call(&late_join).await.outcome, Some(CallOutcome::Connected));

    // No join ever: the person never reached anyone, so it is abandoned.
    h.clock.advance(Duration::seconds(60));
    let sp2 = h.salesperson(2, 1).await;
    let (lead, never) = h.placed_call(2).await;
    let sid = h.call(&never).await.twilio_sid.unwrap();
    let decision = on_voice(&h.deps, &never, person(&sid)).await.unwrap();
    assert!(matches!(decision, VoiceDecision::JoinRoom(ref j) if j.salesperson_id == sp2), "{decision:?}");
    let done = StatusUpdate { call_sid: Some(sid), duration: Some(3), ..update(TwilioCallStatus::Completed, 4) };
    assert_eq!(
        on_status(&h.deps, &never, done).await.unwrap(),
        StatusOutcome::Ignored { reason: IgnoreReason::AwaitingRoom }
    );
    assert!(matches!(settle(&h.deps, &never).await.unwrap(), FinishOutcome::Finished { .. }));
    let call = h.call(&never).await;
    assert_eq!((call.status, call.connected_at), (CallStatus::Abandoned, None));
    assert_eq!(h.user(&sp2).await.0, Availability::WrapUp);
    let lead = repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap();
    assert_eq!((lead.status, lead.priority), (LeadStatus::RetryScheduled, Priority::Urgent));
    // Settling again is harmless.
    assert_eq!(settle(&h.deps, &never).await.unwrap(), FinishOutcome::AlreadyFinished);
}
