//! Agent sessions over local adapters: a salesperson's line from the start
//! request to the end, every refusal, the callbacks Twilio sends in any
//! order, and the sweep that repairs what a lost callback leaves behind.

mod flow_common;

use chrono::Duration;
use flow_common::H;
use ibrat_domain::{Availability, EventKind, LineState, SessionEndReason};
use ibrat_ports::{Store, TelephonyError};
use ibrat_services::callflow::{on_voice, VoiceDecision, VoiceInput};
use ibrat_services::dialing::{dial, handle_message, DialOutcome, MessageOutcome};
use ibrat_services::messages::QueueMessage;
use ibrat_services::sessions::{
    self, AgentVoiceDecision, ConferenceEventKind, ConferenceOutcome, SessionError, SweepOptions,
};
use ibrat_services::users::{self, UserError};

#[tokio::test]
async fn a_session_calls_the_phone_and_is_routable_once_in_the_room() {
    let h = H::new().await;
    let sp = h.salesperson_away(1, true).await;
    let view = sessions::start(&h.deps, &h.actor(&sp)).await.unwrap();
    assert_eq!((view.line, view.availability), (LineState::Connecting, Availability::Away));
    let placed = h.telephony.placed();
    assert_eq!(placed.len(), 1);
    let req = &placed[0].req;
    assert_eq!(req.to, "+998910000001");
    assert!(req.machine_detection.is_none(), "no detection on a salesperson's own line");
    let started = h.session(&sp).await.started_at.timestamp_millis();
    assert_eq!(req.url, format!("https://dialer.example.com/twilio/agent?user_id={sp}&session={started}"));
    assert_eq!(
        req.status_callback,
        format!("https://dialer.example.com/twilio/agent-status?user_id={sp}&session={started}")
    );
    // Not ready before the line is up.
    let refused = users::set_availability(&h.deps, &h.actor(&sp), &sp, Availability::Available).await;
    assert!(matches!(refused, Err(UserError::NoSession)), "{refused:?}");

    let s = h.session(&sp).await;
    let sid = s.agent_call_sid.clone().unwrap();
    assert_eq!(sid, placed[0].sid);
    let answer = sessions::on_agent_voice(&h.deps, &h.session_ref(&s), &sid).await.unwrap();
    assert_eq!(answer, AgentVoiceDecision::JoinRoom { room: format!("agent-{sp}") });
    // Another leg claiming this session is hung up.
    let other =
        sessions::on_agent_voice(&h.deps, &h.session_ref(&s), "CA0000000000000000000000000000beef").await.unwrap();
    assert_eq!(other, AgentVoiceDecision::Hangup);

    assert_eq!(h.room(&sp, ConferenceEventKind::Join, &sid).await, ConferenceOutcome::LineUp);
    assert!(matches!(h.room(&sp, ConferenceEventKind::Join, &sid).await, ConferenceOutcome::Ignored { .. }));
    let view = sessions::view(&h.deps, &sp).await.unwrap().unwrap();
    assert_eq!((view.line, view.availability), (LineState::Up, Availability::Available));
    assert!(view.line_up_at.is_some());
    assert!(h.events().iter().any(|e| matches!(
        e,
        EventKind::SessionUpdated { line: LineState::Up, availability: Availability::Available, .. }
    )));
    // A second start while open is refused.
    assert!(matches!(sessions::start(&h.deps, &h.actor(&sp)).await, Err(SessionError::Active)));
    // Away and back to ready are the salesperson's own while the line is up.
    users::set_availability(&h.deps, &h.actor(&sp), &sp, Availability::Away).await.unwrap();
    users::set_availability(&h.deps, &h.actor(&sp), &sp, Availability::Available).await.unwrap();

    let ended = sessions::end(&h.deps, &h.actor(&sp)).await.unwrap();
    assert_eq!((ended.line, ended.ended_reason), (LineState::Ended, Some(SessionEndReason::AgentEnded)));
    assert_eq!(ended.availability, Availability::Away);
    assert_eq!(h.telephony.ended(), vec![sid.clone()], "their line is hung up");
    // The leg's own callbacks afterwards change nothing.
    assert!(matches!(h.room(&sp, ConferenceEventKind::Leave, &sid).await, ConferenceOutcome::Ignored { .. }));
    let s = h.session(&sp).await;
    assert_eq!(sessions::on_agent_status(&h.deps, &h.session_ref(&s), &sid, "completed").await.unwrap(), None);
    assert_eq!(h.session(&sp).await.ended_reason, Some(SessionEndReason::AgentEnded));
    assert!(matches!(sessions::end(&h.deps, &h.actor(&sp)).await, Err(SessionError::NoSession)));
}

#[tokio::test]
async fn no_phone_number_or_no_answer_is_a_clear_refusal() {
    let h = H::new().await;
    let phoneless = h.salesperson_away(1, false).await;
    assert!(matches!(sessions::start(&h.deps, &h.actor(&phoneless)).await, Err(SessionError::NoPhoneNumber)));
    let s = h.session(&phoneless).await;
    assert_eq!((s.line, s.ended_reason), (LineState::Ended, Some(SessionEndReason::NoPhone)));
    assert!(h.telephony.placed().is_empty());

    let refused = h.salesperson_away(2, true).await;
    h.telephony.fail_next([TelephonyError::InvalidNumber { code: 21211, message: "bad To".into() }]);
    assert!(matches!(sessions::start(&h.deps, &h.actor(&refused)).await, Err(SessionError::PhoneRefused(_))));
    assert_eq!(h.session(&refused).await.ended_reason, Some(SessionEndReason::Failed));

    let silent = h.salesperson_away(3, true).await;
    sessions::start(&h.deps, &h.actor(&silent)).await.unwrap();
    let s = h.session(&silent).await;
    let sid = s.agent_call_sid.clone().unwrap();
    let ended = sessions::on_agent_status(&h.deps, &h.session_ref(&s), &sid, "no-answer").await.unwrap();
    assert_eq!(ended, Some(SessionEndReason::NoAnswer));
    assert_eq!(h.availability(&silent).await, Availability::Away);
    // A new session; a late callback of the old one cannot touch it.
    sessions::start(&h.deps, &h.actor(&silent)).await.unwrap();
    let late = sessions::on_agent_status(&h.deps, &h.session_ref(&s), &sid, "busy").await.unwrap();
    assert_eq!(late, None);
    assert_eq!(h.session(&silent).await.line, LineState::Connecting);
}

#[tokio::test]
async fn hanging_up_the_lead_keeps_the_line_and_wrap_up_returns_to_ready() {
    let h = H::new().await;
    let sp = h.salesperson_away(1, true).await;
    let agent_sid = h.line_up(&sp).await;
    let lead = h.lead(1).await;
    let DialOutcome::Placed { call_id, sid } = dial(&h.deps, &lead.id, true).await.unwrap() else { panic!() };
    let input = VoiceInput { answered_by: None, call_sid: Some(sid.clone()) };
    assert!(matches!(on_voice(&h.deps, &call_id, input).await.unwrap(), VoiceDecision::JoinRoom(_)));
    assert!(matches!(sessions::hangup(&h.deps, &h.actor(&sp)).await, Ok(ref c) if *c == call_id));
    assert_eq!(h.telephony.ended(), vec![sid.clone()], "only the lead's leg is ended");
    // Twilio reports the lead leaving the room: the conversation is over.
    h.room(&sp, ConferenceEventKind::Join, &sid).await;
    h.advance(Duration::seconds(20));
    assert_eq!(
        h.room(&sp, ConferenceEventKind::Leave, &sid).await,
        ConferenceOutcome::LeadLeft { call_id: call_id.clone() }
    );
    let view = sessions::view(&h.deps, &sp).await.unwrap().unwrap();
    assert_eq!((view.line, view.availability), (LineState::Up, Availability::WrapUp));
    assert!(view.wrap_up_until.is_some());
    assert!(matches!(sessions::hangup(&h.deps, &h.actor(&sp)).await, Err(SessionError::NoActiveCall)));
    assert_eq!(h.session(&sp).await.agent_call_sid.as_deref(), Some(agent_sid.as_str()));

    // The delayed end of wrap-up makes them ready again.
    let since = view.availability_since.timestamp_millis();
    h.advance(Duration::seconds(11));
    let body = QueueMessage::WrapUpEnd { user_id: sp.clone(), since_ms: since }.to_body();
    let out = handle_message(&h.deps, &body).await.unwrap();
    assert!(matches!(out, MessageOutcome::WrapUpEnded { .. }), "{out:?}");
    assert_eq!(h.availability(&sp).await, Availability::Available);
}

#[tokio::test]
async fn hanging_up_the_phone_ends_the_session_and_no_wrap_up_makes_them_ready() {
    let h = H::new().await;
    let sp = h.salesperson_away(1, true).await;
    let agent_sid = h.line_up(&sp).await;
    let lead = h.lead(1).await;
    let DialOutcome::Placed { call_id, sid } = dial(&h.deps, &lead.id, true).await.unwrap() else { panic!() };
    on_voice(&h.deps, &call_id, VoiceInput { answered_by: None, call_sid: Some(sid.clone()) }).await.unwrap();
    h.room(&sp, ConferenceEventKind::Join, &sid).await;
    h.advance(Duration::seconds(30));
    // The salesperson hangs up: their leg leaves, the room ends, the lead
    // leaves too.
    assert_eq!(h.room(&sp, ConferenceEventKind::Leave, &agent_sid).await, ConferenceOutcome::LineEnded);
    assert_eq!(h.session(&sp).await.ended_reason, Some(SessionEndReason::AgentHungUp));
    assert_eq!(h.availability(&sp).await, Availability::Away);
    // Their current call was let go, so the lead's leave finds nothing.
    assert!(matches!(h.room(&sp, ConferenceEventKind::Leave, &sid).await, ConferenceOutcome::Ignored { .. }));
    // The lead's final status closes the call as connected, and leaves the
    // salesperson away.
    let done = ibrat_services::callflow::StatusUpdate {
        call_sid: Some(sid.clone()),
        duration: Some(31),
        ..ibrat_services::callflow::StatusUpdate::new(ibrat_services::callflow::TwilioCallStatus::Completed)
    };
    ibrat_services::callflow::on_status(&h.deps, &call_id, done).await.unwrap();
    let call = h.call(&call_id).await;
    assert_eq!((call.status, call.talk_secs), (ibrat_domain::CallStatus::Completed, Some(30)));
    assert_eq!(h.availability(&sp).await, Availability::Away);
    let refused = users::set_availability(&h.deps, &h.actor(&sp), &sp, Availability::Available).await;
    assert!(matches!(refused, Err(UserError::NoSession)));
    // Nothing routes to them.
    let lead2 = h.lead(2).await;
    let DialOutcome::Placed { call_id, sid } = dial(&h.deps, &lead2.id, true).await.unwrap() else { panic!() };
    let d = on_voice(&h.deps, &call_id, VoiceInput { answered_by: None, call_sid: Some(sid) }).await.unwrap();
    assert!(matches!(d, VoiceDecision::Abandon { .. }), "{d:?}");
}

#[tokio::test]
async fn an_ambiguous_start_is_never_resent_and_the_sweep_settles_it() {
    let h = H::new().await;
    let sp = h.salesperson_away(1, true).await;
    h.telephony.place_then_lose_next();
    let view = sessions::start(&h.deps, &h.actor(&sp)).await.unwrap();
    assert_eq!(view.line, LineState::Connecting);
    assert_eq!(h.telephony.create_attempts.load(std::sync::atomic::Ordering::SeqCst), 1, "never resent");
    assert_eq!(h.session(&sp).await.agent_call_sid, None);
    // Twilio's call is still ringing at the sweep: its SID is learnt.
    let sid = h.telephony.placed()[0].sid.clone();
    h.telephony.set_status(&sid, "ringing");
    h.advance(Duration::seconds(91));
    let out = sessions::sweep(&h.deps, &SweepOptions::default()).await.unwrap();
    assert_eq!((out.sids_found, out.sessions_closed), (1, 0));
    assert_eq!(h.session(&sp).await.agent_call_sid.as_deref(), Some(sid.as_str()));
    // It was never answered: the next sweep ends the session.
    h.telephony.set_status(&sid, "no-answer");
    let out = sessions::sweep(&h.deps, &SweepOptions::default()).await.unwrap();
    assert_eq!(out.sessions_closed, 1);
    assert_eq!(h.session(&sp).await.ended_reason, Some(SessionEndReason::NoAnswer));
}

#[tokio::test]
async fn a_stuck_wrap_up_is_swept_back() {
    let h = H::new().await;
    let up = h.salesperson_away(1, true).await;
    h.line_up(&up).await;
    let gone = h.salesperson_away(2, true).await;
    h.line_up(&gone).await;
    // Both end a call and their WrapUpEnd messages are lost (a restart).
    for (n, sp) in [(1, &up), (2, &gone)] {
        let lead = h.lead(n).await;
        let DialOutcome::Placed { call_id, sid } = dial(&h.deps, &lead.id, true).await.unwrap() else { panic!() };
        let d =
            on_voice(&h.deps, &call_id, VoiceInput { answered_by: None, call_sid: Some(sid.clone()) }).await.unwrap();
        let VoiceDecision::JoinRoom(join) = d else { panic!("{d:?}") };
        assert_eq!(&join.salesperson_id, sp);
        h.room(sp, ConferenceEventKind::Join, &sid).await;
        h.room(sp, ConferenceEventKind::Leave, &sid).await;
        assert_eq!(h.availability(sp).await, Availability::WrapUp);
    }
    // The second one's line is lost meanwhile, without the session noticing.
    let mut s = h.session(&gone).await;
    s.line = LineState::Ended;
    s.ended_reason = Some(SessionEndReason::LineLost);
    h.store.put(ibrat_services::repo::sessions::to_item(&s), None).await.unwrap();

    let out = sessions::sweep(&h.deps, &SweepOptions::default()).await.unwrap();
    assert_eq!(out.wrap_ups_ended, 0, "not stuck yet");
    h.advance(Duration::seconds(41));
    let out = sessions::sweep(&h.deps, &SweepOptions::default()).await.unwrap();
    assert_eq!(out.wrap_ups_ended, 2);
    assert_eq!(h.availability(&up).await, Availability::Available);
    assert_eq!(h.availability(&gone).await, Availability::Away, "no line, never ready");
    // A late WrapUpEnd for either is stale now.
    let body = QueueMessage::WrapUpEnd { user_id: up.clone(), since_ms: 0 }.to_body();
    assert!(matches!(handle_message(&h.deps, &body).await.unwrap(), MessageOutcome::WrapUpStale { .. }));
}
