//! Conference rooms: a salesperson's line held in its room, leads joining
//! it by TwiML or by a live call update, the room's signed status callbacks
//! with Twilio's parameters, and the Conferences and Participants API.

use std::time::Duration;

use ibrat_ports::{CreateCall, Telephony};
use serde_json::Value;
use twilio_sim::{Phone, RoomStatus, SimConfig, SimStatus};

use crate::webhooks::{lead_room, Hook};
use crate::{only, Harness};

pub const AGENT: &str = "+15550000100";
pub const LEAD: &str = "+15550000200";
const FROM: &str = "+15550009999";

/// Agents' and leads' phones answer and stay; everything else by `f`.
pub fn rooms_config(f: impl FnOnce(&mut SimConfig)) -> SimConfig {
    let mut c = only(|c| c.answer_rate = 1.0).with_phone(AGENT, Phone::Stays);
    f(&mut c);
    c
}

/// A call whose voice URL answers in `mode` for room `room`.
pub fn call(h: &Harness, to: &str, mode: &str, room: &str, amd: bool) -> CreateCall {
    CreateCall {
        to: to.into(),
        from: FROM.into(),
        url: h.hooks.url(&format!("/voice?mode={mode}&room={room}")),
        status_callback: h.hooks.url(&format!("/status?mode={mode}")),
        timeout_secs: 30,
        machine_detection: amd,
    }
}

/// Polls `check` every 10 ms for up to 10 s.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The room callbacks received, as `event call-sid`.
fn room_events(h: &Harness) -> Vec<(String, String)> {
    h.hooks
        .all()
        .iter()
        .filter(|x| x.path == "/conference")
        .map(|x| (x.get("StatusCallbackEvent").unwrap_or("").to_owned(), x.get("CallSid").unwrap_or("-").to_owned()))
        .collect()
}

/// A raw REST request with the simulator's credentials.
pub async fn rest(h: &Harness, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}/2010-04-01/Accounts/{}/{path}", h.sim.base_url(), h.sim.account_sid());
    let token = h.sim.state().config().auth_token.clone();
    let res = reqwest::Client::new()
        .request(method, url)
        .basic_auth(h.sim.account_sid(), Some(token))
        .form(form)
        .send()
        .await
        .expect("simulator answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_salesperson_waits_in_their_room_and_a_lead_joins_then_leaves() {
    let h = Harness::start(rooms_config(|_| {})).await;
    let agent = h.client_create(&call(&h, AGENT, "agent", "agent-u1", false)).await;
    eventually("the salesperson is in their room", || h.sim.rooms().iter().any(|r| r.status == RoomStatus::InProgress))
        .await;

    let lead = h.client_create(&call(&h, LEAD, "lead", "agent-u1", true)).await;
    eventually("the lead's call ends", || h.sim.call(&lead).is_some_and(|c| c.status.is_final())).await;
    assert_eq!(h.sim.call(&lead).map(|c| c.status), Some(SimStatus::Completed));
    let rooms = h.sim.rooms();
    assert_eq!(rooms.len(), 1, "one room, reused by name");
    assert_eq!(rooms[0].status, RoomStatus::InProgress, "the salesperson stays after the lead hangs up");
    assert_eq!(rooms[0].members.iter().map(|m| m.call_sid.as_str()).collect::<Vec<_>>(), [agent.as_str()]);
    assert_eq!(h.sim.call(&agent).map(|c| c.status), Some(SimStatus::InProgress));

    h.client.end_call(&agent).await.expect("the salesperson's line is ended");
    eventually("the room ends", || h.sim.rooms()[0].status == RoomStatus::Completed).await;
    h.settle().await;

    let events = room_events(&h);
    let expected = [
        ("participant-join", agent.as_str()),
        ("conference-start", "-"),
        ("participant-join", lead.as_str()),
        ("participant-leave", lead.as_str()),
        ("participant-leave", agent.as_str()),
        ("conference-end", "-"),
    ];
    assert_eq!(events, expected.map(|(e, s)| (e.to_owned(), s.to_owned())));
    let hooks: Vec<Hook> = h.hooks.all().into_iter().filter(|x| x.path == "/conference").collect();
    let room = &h.sim.rooms()[0];
    for (i, hook) in hooks.iter().enumerate() {
        assert_eq!(hook.get("ConferenceSid"), Some(room.sid.as_str()));
        assert!(room.sid.starts_with("CF") && room.sid.len() == 34);
        assert_eq!(hook.get("FriendlyName"), Some("agent-u1"));
        assert_eq!(hook.get("AccountSid"), Some(h.sim.account_sid()));
        assert_eq!(hook.get("SequenceNumber"), Some((i + 1).to_string().as_str()));
        assert!(hook.get("Timestamp").is_some_and(|t| t.ends_with("+0000")));
    }
    let agent_join = &hooks[0];
    assert_eq!(
        ["Muted", "Hold", "EndConferenceOnExit", "StartConferenceOnEnter"].map(|k| agent_join.get(k)),
        [Some("false"), Some("false"), Some("true"), Some("true")]
    );
    assert_eq!(hooks[2].get("EndConferenceOnExit"), Some("false"));
    let end = &hooks[5];
    assert_eq!(end.get("ReasonConferenceEnded"), Some("participant-with-end-conference-on-exit-left"));
    assert_eq!(end.get("CallSidEndingConference"), Some(agent.as_str()));
    assert_eq!(room.reason_ended, Some("participant-with-end-conference-on-exit-left"));

    // The ledger says who heard whom: the lead joined the salesperson.
    let ledger = h.sim.ledger();
    let joined = ledger
        .iter()
        .find(|e| e.event == "joined-room" && e.call_sid.as_deref() == Some(lead.as_str()))
        .expect("the lead's join is in the ledger");
    assert_eq!(joined.detail["with"], serde_json::json!([AGENT]));
    assert_eq!(joined.room.as_deref(), Some("agent-u1"));
    let verdict = ledger
        .iter()
        .find(|e| e.event == "amd-verdict" && e.call_sid.as_deref() == Some(lead.as_str()))
        .expect("the lead's detection verdict is in the ledger");
    assert_eq!(verdict.detail["answered_by"], "human");
}

#[tokio::test]
async fn a_live_update_moves_a_call_into_a_room() {
    let h = Harness::start(rooms_config(|c| c.time_scale = 0.01)).await;
    let agent = h.client_create(&call(&h, AGENT, "agent", "agent-u2", false)).await;
    let lead = h.client_create(&call(&h, LEAD, "hold-line", "-", false)).await;
    eventually("both lines are up", || {
        h.sim.rooms().first().is_some_and(|r| r.members.len() == 1)
            && h.sim.call(&lead).is_some_and(|c| c.status == SimStatus::InProgress)
    })
    .await;
    let twiml = lead_room(&h.hooks.url(""), "agent-u2");
    let (status, body) = rest(&h, reqwest::Method::POST, &format!("Calls/{lead}.json"), &[("Twiml", &twiml)]).await;
    assert_eq!((status, body["sid"].as_str()), (200, Some(lead.as_str())));
    eventually("the lead is in the room", || h.sim.rooms()[0].members.iter().any(|m| m.call_sid == lead)).await;
    eventually("the lead hangs up", || h.sim.call(&lead).is_some_and(|c| c.status.is_final())).await;

    let moved = h.sim.ledger().into_iter().any(|e| e.event == "moved" && e.call_sid.as_deref() == Some(lead.as_str()));
    assert!(moved, "the move is in the ledger");
    let (status, body) = rest(&h, reqwest::Method::POST, &format!("Calls/{lead}.json"), &[("Twiml", &twiml)]).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(21220)), "an ended call cannot be moved: {body}");
    let (status, body) = rest(&h, reqwest::Method::POST, &format!("Calls/{agent}.json"), &[("Url", "nope")]).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(21205)));

    let (status, body) =
        rest(&h, reqwest::Method::POST, &format!("Calls/{agent}.json"), &[("Status", "completed")]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("completed")));
    h.settle().await;
    let events: Vec<String> = room_events(&h).into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        events,
        [
            "participant-join",
            "conference-start",
            "participant-join",
            "participant-leave",
            "participant-leave",
            "conference-end"
        ]
    );
}

#[tokio::test]
async fn the_api_adds_updates_and_removes_participants_and_ends_rooms() {
    let h = Harness::start(rooms_config(|c| {
        c.time_scale = 0.01;
        c.phones.push((LEAD.into(), Phone::Stays));
    }))
    .await;
    let conf_cb = h.hooks.url("/conference?kind=api");
    let (status, agent) = rest(
        &h,
        reqwest::Method::POST,
        "Conferences/agent-u3/Participants.json",
        &[
            ("From", FROM),
            ("To", AGENT),
            ("EndConferenceOnExit", "true"),
            ("Beep", "false"),
            ("Label", "salesperson"),
            ("ConferenceStatusCallback", &conf_cb),
            ("ConferenceStatusCallbackEvent", "start end join leave mute"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{agent}");
    assert_eq!((agent["status"].as_str(), agent["label"].as_str()), (Some("queued"), Some("salesperson")));
    let room_sid = agent["conference_sid"].as_str().unwrap_or_default().to_owned();
    let agent_sid = agent["call_sid"].as_str().unwrap_or_default().to_owned();
    assert!(room_sid.starts_with("CF") && agent_sid.starts_with("CA"));
    let part = |sid: &str| format!("Conferences/{room_sid}/Participants/{sid}.json");
    eventually("the salesperson is connected", || {
        h.sim.room(&room_sid).is_some_and(|r| r.members.iter().any(|m| m.connected))
    })
    .await;

    let (_, listed) =
        rest(&h, reqwest::Method::GET, "Conferences.json?FriendlyName=agent-u3&Status=in-progress", &[]).await;
    assert_eq!(listed["conferences"][0]["sid"], room_sid.as_str());
    assert_eq!(listed["conferences"][0]["friendly_name"], "agent-u3");
    let (_, lead) = rest(
        &h,
        reqwest::Method::POST,
        &format!("Conferences/{room_sid}/Participants.json"),
        &[("From", FROM), ("To", LEAD)],
    )
    .await;
    let lead_sid = lead["call_sid"].as_str().unwrap_or_default().to_owned();
    eventually("the lead is connected", || {
        h.sim.room(&room_sid).is_some_and(|r| r.members.iter().filter(|m| m.connected).count() == 2)
    })
    .await;
    let (_, people) = rest(&h, reqwest::Method::GET, &format!("Conferences/{room_sid}/Participants.json"), &[]).await;
    assert_eq!(people["participants"].as_array().map(Vec::len), Some(2));
    assert!(people["participants"].as_array().into_iter().flatten().all(|p| p["status"] == "connected"));

    let (status, muted) = rest(&h, reqwest::Method::POST, &part(&lead_sid), &[("Muted", "true")]).await;
    assert_eq!((status, muted["muted"].as_bool()), (200, Some(true)));
    eventually("the mute is reported", || room_events(&h).iter().any(|(e, _)| e == "participant-mute")).await;
    let (status, body) = rest(&h, reqwest::Method::POST, &part(&lead_sid), &[("Hold", "maybe")]).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(20001)));
    let (status, _) = rest(&h, reqwest::Method::DELETE, &part(&lead_sid), &[]).await;
    assert_eq!(status, 204);
    eventually("the removed lead's call ends", || h.sim.call(&lead_sid).is_some_and(|c| c.status.is_final())).await;
    let (status, body) = rest(&h, reqwest::Method::DELETE, &part(&lead_sid), &[]).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(20404)));
    assert_eq!(h.sim.room(&room_sid).map(|r| r.status), Some(RoomStatus::InProgress));

    let (status, ended) =
        rest(&h, reqwest::Method::POST, &format!("Conferences/{room_sid}.json"), &[("Status", "completed")]).await;
    assert_eq!((status, ended["status"].as_str()), (200, Some("completed")));
    assert_eq!(ended["reason_conference_ended"], "conference-ended-via-api");
    eventually("the salesperson's call ends", || h.sim.call(&agent_sid).is_some_and(|c| c.status.is_final())).await;
    eventually("the room's end is reported", || room_events(&h).iter().any(|(e, _)| e == "conference-end")).await;
    h.settle().await;
    let events: Vec<String> = room_events(&h).into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        events,
        [
            "participant-join",
            "conference-start",
            "participant-join",
            "participant-mute",
            "participant-leave",
            "participant-leave",
            "conference-end"
        ]
    );
    let labelled = h
        .hooks
        .all()
        .into_iter()
        .find(|x| x.path == "/conference")
        .and_then(|x| x.get("ParticipantLabel").map(str::to_owned));
    assert_eq!(labelled.as_deref(), Some("salesperson"));
    let (status, body) =
        rest(&h, reqwest::Method::GET, "Conferences/CF00000000000000000000000000000000.json", &[]).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(20404)));
}

#[tokio::test]
async fn model_phones_refuse_as_configured() {
    let h = Harness::start(
        rooms_config(|_| {}).with_phone("+15550000301", Phone::Busy).with_phone("+15550000302", Phone::NoAnswer),
    )
    .await;
    let busy = h.client_create(&call(&h, "+15550000301", "agent", "r", false)).await;
    let silent = h.client_create(&call(&h, "+15550000302", "agent", "r", false)).await;
    h.settle().await;
    assert_eq!(h.sim.call(&busy).map(|c| c.status), Some(SimStatus::Busy));
    assert_eq!(h.sim.call(&silent).map(|c| c.status), Some(SimStatus::NoAnswer));
    assert!(h.sim.rooms().is_empty(), "nobody answered, so no room");
}
