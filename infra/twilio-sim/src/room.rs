//! Conference rooms: who is in each, when it starts and ends, and the
//! status callbacks each change owes, with Twilio's parameters. Pure state
//! changes: the callers send the events and tell kicked calls to move on.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::courier::{Courier, Delivery};
use crate::faults::{CallbackFate, FaultDice, Faults};
use crate::ledger::Note;
use crate::resource::twilio_date;
use crate::state::new_sid_with;
use crate::twiml::{Conference, Method, RoomEvents};

/// A room's status, spelt as Twilio spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomStatus {
    /// Someone is waiting; it has not started.
    Init,
    InProgress,
    Completed,
}

impl RoomStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Init => "init",
            RoomStatus::InProgress => "in-progress",
            RoomStatus::Completed => "completed",
        }
    }
}

/// One participant (a call) in a room.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub call_sid: String,
    pub number: String,
    pub label: Option<String>,
    pub muted: bool,
    pub hold: bool,
    pub start_on_enter: bool,
    pub end_on_exit: bool,
    /// False while a participant added through the API is still ringing.
    pub connected: bool,
    pub date_created: DateTime<Utc>,
    pub date_updated: DateTime<Utc>,
}

/// A snapshot of one room.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSnapshot {
    pub sid: String,
    pub name: String,
    pub status: RoomStatus,
    pub date_created: DateTime<Utc>,
    pub date_updated: DateTime<Utc>,
    pub members: Vec<Member>,
    pub reason_ended: Option<&'static str>,
    pub call_sid_ending: Option<String>,
}

pub(crate) struct Room {
    pub snap: RoomSnapshot,
    callback: Option<(String, Method)>,
    events: RoomEvents,
    sequence: u32,
    courier: Courier,
}

/// Every room, live or ended.
#[derive(Default)]
pub(crate) struct Rooms {
    list: Vec<Room>,
    live: HashMap<String, usize>,
    by_sid: HashMap<String, usize>,
}

/// A change's consequences: callbacks to send (in order, with their fates),
/// ledger notes, and calls pushed out of the room.
#[derive(Default)]
pub(crate) struct Change {
    pub sends: Vec<(Delivery, CallbackFate)>,
    /// (room name, event, call sid, detail) for the ledger.
    pub notes: Vec<(String, &'static str, Option<String>, serde_json::Value)>,
    pub kicked: Vec<String>,
}

/// Why a participant leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaving {
    /// Hung up, moved elsewhere, or its call ended.
    Left,
    /// Removed through the API.
    Kicked,
}

/// Room callbacks are drawn from their own fault dice kind.
const ROOM_DICE: u64 = 2;

impl Rooms {
    pub(crate) fn snapshots(&self) -> Vec<RoomSnapshot> {
        self.list.iter().map(|r| r.snap.clone()).collect()
    }

    pub(crate) fn index_of(&self, sid: &str) -> Option<usize> {
        self.by_sid.get(sid).copied()
    }

    pub(crate) fn sid_at(&self, i: usize) -> String {
        self.list.get(i).map(|r| r.snap.sid.clone()).unwrap_or_default()
    }

    pub(crate) fn by_sid(&self, sid: &str) -> Option<&RoomSnapshot> {
        self.by_sid.get(sid).and_then(|&i| self.list.get(i)).map(|r| &r.snap)
    }

    /// The live room named `name`, or a new one (status `init`).
    pub(crate) fn live_or_new(&mut self, name: &str, now: DateTime<Utc>, seed: u64) -> usize {
        if let Some(&i) = self.live.get(name) {
            return i;
        }
        let i = self.list.len();
        let sid = new_sid_with("CF");
        self.list.push(Room {
            snap: RoomSnapshot {
                sid: sid.clone(),
                name: name.to_owned(),
                status: RoomStatus::Init,
                date_created: now,
                date_updated: now,
                members: Vec::new(),
                reason_ended: None,
                call_sid_ending: None,
            },
            callback: None,
            events: RoomEvents::default(),
            sequence: 0,
            courier: Courier::new(FaultDice::new(seed, ROOM_DICE, i as u64)),
        });
        self.live.insert(name.to_owned(), i);
        self.by_sid.insert(sid, i);
        i
    }

    /// The live room holding `call_sid` (connected or ringing).
    pub(crate) fn room_of(&self, call_sid: &str) -> Option<usize> {
        self.live.values().copied().find(|&i| self.list[i].snap.members.iter().any(|m| m.call_sid == call_sid))
    }

    /// A participant added through the API, ringing until its call answers.
    pub(crate) fn add_ringing(
        &mut self,
        i: usize,
        call_sid: &str,
        number: &str,
        join: &Conference,
        now: DateTime<Utc>,
    ) {
        let room = &mut self.list[i];
        room.snap.members.push(member(call_sid, number, join, false, now));
        room.snap.date_updated = now;
        if room.callback.is_none() {
            if let Some(cb) = &join.status_callback {
                room.callback = Some(cb.clone());
                room.events = join.events;
            }
        }
    }

    /// A call enters the room named in `join`; returns the room's index and
    /// the numbers already connected there.
    pub(crate) fn join(
        &mut self,
        call_sid: &str,
        number: &str,
        join: &Conference,
        now: DateTime<Utc>,
        ctx: &Ctx,
    ) -> (usize, Vec<String>, Change) {
        let i = self.live_or_new(&join.name, now, ctx.seed);
        let room = &mut self.list[i];
        if room.callback.is_none() {
            if let Some(cb) = &join.status_callback {
                room.callback = Some(cb.clone());
                room.events = join.events;
            }
        }
        room.snap.members.retain(|m| m.call_sid != call_sid);
        let others: Vec<String> = room.snap.members.iter().filter(|m| m.connected).map(|m| m.number.clone()).collect();
        let joined = member(call_sid, number, join, true, now);
        room.snap.members.push(joined.clone());
        room.snap.date_updated = now;
        let mut change = Change::default();
        room.participant_event("participant-join", &joined, now, ctx, &mut change);
        if room.snap.status == RoomStatus::Init && joined.start_on_enter {
            room.snap.status = RoomStatus::InProgress;
            room.conference_event("conference-start", now, ctx, &mut change);
        }
        (i, others, change)
    }

    /// A participant leaves (or is removed): the room ends when it was the
    /// last one, or when it ends the conference on exit.
    pub(crate) fn leave(&mut self, call_sid: &str, why: Leaving, now: DateTime<Utc>, ctx: &Ctx) -> Change {
        let mut change = Change::default();
        let Some(i) = self.room_of(call_sid) else { return change };
        let room = &mut self.list[i];
        let Some(pos) = room.snap.members.iter().position(|m| m.call_sid == call_sid) else { return change };
        let gone = room.snap.members.remove(pos);
        room.snap.date_updated = now;
        if gone.connected {
            room.participant_event("participant-leave", &gone, now, ctx, &mut change);
        }
        if why == Leaving::Kicked {
            change.kicked.push(gone.call_sid.clone());
        }
        let connected_left = room.snap.members.iter().any(|m| m.connected);
        let reason = match (gone.connected && gone.end_on_exit, why) {
            (true, Leaving::Left) => Some("participant-with-end-conference-on-exit-left"),
            (true, Leaving::Kicked) => Some("participant-with-end-conference-on-exit-kicked"),
            (false, _) if connected_left || room.snap.members.iter().any(|m| !m.connected) => None,
            (false, Leaving::Left) => Some("last-participant-left"),
            (false, Leaving::Kicked) => Some("last-participant-kicked"),
        };
        if let Some(reason) = reason {
            self.finish(i, reason, Some(gone.call_sid), now, ctx, &mut change);
        }
        change
    }

    /// Ends a room through the API (`Status=completed`).
    pub(crate) fn end(&mut self, i: usize, now: DateTime<Utc>, ctx: &Ctx) -> Change {
        let mut change = Change::default();
        if self.list[i].snap.status != RoomStatus::Completed {
            self.finish(i, "conference-ended-via-api", None, now, ctx, &mut change);
        }
        change
    }

    /// Drops a ringing participant whose call was never answered; an empty
    /// room that never started goes with it.
    pub(crate) fn drop_ringing(&mut self, call_sid: &str, now: DateTime<Utc>) {
        let Some(i) = self.room_of(call_sid) else { return };
        let room = &mut self.list[i];
        room.snap.members.retain(|m| m.call_sid != call_sid || m.connected);
        if room.snap.members.is_empty() && room.snap.status == RoomStatus::Init {
            room.snap.status = RoomStatus::Completed;
            room.snap.date_updated = now;
            let name = room.snap.name.clone();
            self.live.remove(&name);
        }
    }

    /// Mutes, holds or changes `EndConferenceOnExit` of a participant.
    pub(crate) fn update(
        &mut self,
        i: usize,
        call_sid: &str,
        update: &MemberUpdate,
        now: DateTime<Utc>,
        ctx: &Ctx,
    ) -> Option<(Member, Change)> {
        let room = &mut self.list[i];
        let pos = room.snap.members.iter().position(|m| m.call_sid == call_sid)?;
        let mut change = Change::default();
        let m = &mut room.snap.members[pos];
        let mut events = Vec::new();
        if let Some(muted) = update.muted.filter(|v| *v != m.muted) {
            m.muted = muted;
            events.push(if muted { "participant-mute" } else { "participant-unmute" });
        }
        if let Some(hold) = update.hold.filter(|v| *v != m.hold) {
            m.hold = hold;
            events.push(if hold { "participant-hold" } else { "participant-unhold" });
        }
        if let Some(end) = update.end_on_exit {
            m.end_on_exit = end;
        }
        m.date_updated = now;
        let m = m.clone();
        room.snap.date_updated = now;
        for e in events {
            room.participant_event(e, &m, now, ctx, &mut change);
        }
        Some((m, change))
    }

    fn finish(
        &mut self,
        i: usize,
        reason: &'static str,
        ending: Option<String>,
        now: DateTime<Utc>,
        ctx: &Ctx,
        change: &mut Change,
    ) {
        let room = &mut self.list[i];
        for m in std::mem::take(&mut room.snap.members) {
            if m.connected {
                room.participant_event("participant-leave", &m, now, ctx, change);
            }
            change.kicked.push(m.call_sid);
        }
        let started = room.snap.status == RoomStatus::InProgress;
        room.snap.status = RoomStatus::Completed;
        room.snap.date_updated = now;
        room.snap.reason_ended = Some(reason);
        room.snap.call_sid_ending = ending;
        if started {
            room.conference_event("conference-end", now, ctx, change);
        }
        change.sends.extend(room.courier.flush());
        let name = room.snap.name.clone();
        self.live.remove(&name);
    }
}

/// What a participant update asks for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MemberUpdate {
    pub muted: Option<bool>,
    pub hold: Option<bool>,
    pub end_on_exit: Option<bool>,
}

/// What every room event needs from the simulator.
pub(crate) struct Ctx<'a> {
    pub account_sid: &'a str,
    pub seed: u64,
    pub faults: &'a Faults,
}

fn member(call_sid: &str, number: &str, join: &Conference, connected: bool, now: DateTime<Utc>) -> Member {
    Member {
        call_sid: call_sid.to_owned(),
        number: number.to_owned(),
        label: join.label.clone(),
        muted: join.muted,
        hold: false,
        start_on_enter: join.start_on_enter,
        end_on_exit: join.end_on_exit,
        connected,
        date_created: now,
        date_updated: now,
    }
}

impl Room {
    fn wants(&self, event: &str) -> bool {
        let e = self.events;
        match event {
            "conference-start" => e.start,
            "conference-end" => e.end,
            "participant-join" => e.join,
            "participant-leave" => e.leave,
            "participant-mute" | "participant-unmute" => e.mute,
            "participant-hold" | "participant-unhold" => e.hold,
            _ => false,
        }
    }

    fn base(&mut self, event: &str, now: DateTime<Utc>, ctx: &Ctx) -> Vec<(String, String)> {
        self.sequence += 1;
        [
            ("AccountSid", ctx.account_sid.to_owned()),
            ("ConferenceSid", self.snap.sid.clone()),
            ("FriendlyName", self.snap.name.clone()),
            ("StatusCallbackEvent", event.to_owned()),
            ("Timestamp", twilio_date(now)),
            ("SequenceNumber", self.sequence.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn participant_event(
        &mut self,
        event: &'static str,
        m: &Member,
        now: DateTime<Utc>,
        ctx: &Ctx,
        change: &mut Change,
    ) {
        let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
        let detail = serde_json::json!({"number": m.number, "label": m.label});
        change.notes.push((self.snap.name.clone(), event, Some(m.call_sid.clone()), detail));
        if !self.wants(event) {
            return;
        }
        let mut params = self.base(event, now, ctx);
        params.extend([
            ("CallSid".to_owned(), m.call_sid.clone()),
            ("Muted".to_owned(), flag(m.muted)),
            ("Hold".to_owned(), flag(m.hold)),
            ("Coaching".to_owned(), flag(false)),
            ("EndConferenceOnExit".to_owned(), flag(m.end_on_exit)),
            ("StartConferenceOnEnter".to_owned(), flag(m.start_on_enter)),
        ]);
        if let Some(label) = &m.label {
            params.push(("ParticipantLabel".to_owned(), label.clone()));
        }
        let note = Note {
            call_sid: Some(m.call_sid.clone()),
            number: Some(m.number.clone()),
            room: Some(self.snap.name.clone()),
            sim_secs: None,
        };
        self.route(event, params, note, ctx, change);
    }

    fn conference_event(&mut self, event: &'static str, now: DateTime<Utc>, ctx: &Ctx, change: &mut Change) {
        let detail =
            serde_json::json!({"reason": self.snap.reason_ended, "call_sid_ending": self.snap.call_sid_ending});
        change.notes.push((self.snap.name.clone(), event, None, detail));
        if !self.wants(event) {
            return;
        }
        let mut params = self.base(event, now, ctx);
        if event == "conference-end" {
            if let Some(reason) = self.snap.reason_ended {
                params.push(("ReasonConferenceEnded".to_owned(), reason.to_owned()));
                params.push(("Reason".to_owned(), reason.to_owned()));
            }
            if let Some(sid) = &self.snap.call_sid_ending {
                params.push(("CallSidEndingConference".to_owned(), sid.clone()));
            }
        }
        let note = Note { room: Some(self.snap.name.clone()), ..Note::default() };
        self.route(event, params, note, ctx, change);
    }

    fn route(&mut self, event: &str, params: Vec<(String, String)>, note: Note, ctx: &Ctx, change: &mut Change) {
        let Some((url, method)) = self.callback.clone() else { return };
        let d = Delivery { url, method, params, what: event.to_owned(), call_status: None, note };
        change.sends.extend(self.courier.route(ctx.faults, d));
    }
}
