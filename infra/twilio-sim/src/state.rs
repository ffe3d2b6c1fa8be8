//! The simulator's shared state: its config, every call it has created and
//! the signals that steer each call's player, the conference rooms, the
//! ledger, the count of calls still playing, and the HTTP client that calls
//! webhooks. Cheap to clone; the REST handlers and every player hold one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::call::{SimCall, SimStats, SimStatus};
use crate::config::SimConfig;
use crate::courier::Delivery;
use crate::faults::CallbackFate;
use crate::ledger::{Ledger, LedgerEntry, Note};
use crate::request::Voice;
use crate::room::{Change, Ctx, Leaving, Member, MemberUpdate, RoomSnapshot, Rooms};
use crate::twiml::Conference;

/// How long a webhook may take to answer, as with Twilio.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);

/// The simulator's state, to mount its [`router`](crate::router) in-process
/// or to inspect its calls.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimConfig,
    http: reqwest::Client,
    calls: Mutex<Registry>,
    playing: watch::Sender<usize>,
    ledger: Ledger,
    rest_requests: AtomicU64,
}

#[derive(Default)]
struct Registry {
    entries: Vec<Entry>,
    by_sid: HashMap<String, usize>,
    rooms: Rooms,
}

struct Entry {
    call: SimCall,
    control: watch::Sender<Signal>,
}

/// What the API has asked of a call, watched by its player.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signal {
    /// Ended through the API.
    pub hangup: bool,
    /// Counts live updates with `Url` or `Twiml`; `redirect` is the latest.
    pub redirects: u64,
    pub redirect: Option<Voice>,
    /// Counts the times the call was pushed out of a room.
    pub kicks: u64,
}

/// A live update refused: the call has ended (Twilio's 21220).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotInProgress;

/// What a REST update asks of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndRequest {
    /// `Status=canceled`: ends a call not yet answered; an answered one is left alone.
    Cancel,
    /// `Status=completed`: hangs up an answered call, cancels one not yet answered.
    Complete,
}

/// A newly registered call, handed to its player.
pub(crate) struct Registered {
    pub sid: String,
    pub index: u64,
    pub control: watch::Receiver<Signal>,
    pub playing: PlayingGuard,
}

/// Counts a call as playing until dropped, so a player that stops for any
/// reason (even a panic) leaves `wait_idle` accurate.
pub(crate) struct PlayingGuard {
    state: SimState,
}

impl Drop for PlayingGuard {
    fn drop(&mut self) {
        self.state.inner.playing.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl SimState {
    /// Fresh state with no calls.
    pub fn new(config: SimConfig) -> std::io::Result<SimState> {
        let http = reqwest::Client::builder().timeout(WEBHOOK_TIMEOUT).build().map_err(std::io::Error::other)?;
        let (playing, _) = watch::channel(0);
        let inner = Inner {
            config,
            http,
            calls: Mutex::default(),
            playing,
            ledger: Ledger::default(),
            rest_requests: AtomicU64::new(0),
        };
        Ok(SimState { inner: Arc::new(inner) })
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// Snapshots of every call, in creation order.
    pub fn calls(&self) -> Vec<SimCall> {
        self.registry().entries.iter().map(|e| e.call.clone()).collect()
    }

    /// A snapshot of one call.
    pub fn call(&self, sid: &str) -> Option<SimCall> {
        let reg = self.registry();
        reg.by_sid.get(sid).and_then(|&i| reg.entries.get(i)).map(|e| e.call.clone())
    }

    /// Counts of calls by final status.
    pub fn stats(&self) -> SimStats {
        SimStats::of(&self.calls())
    }

    /// Waits until no call is still playing; false if `timeout` passed first.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.playing.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0)).await.is_ok_and(|r| r.is_ok())
    }

    /// Snapshots of every room, live or ended, in creation order.
    pub fn rooms(&self) -> Vec<RoomSnapshot> {
        self.registry().rooms.snapshots()
    }

    /// A snapshot of one room.
    pub fn room(&self, sid: &str) -> Option<RoomSnapshot> {
        self.registry().rooms.by_sid(sid).cloned()
    }

    /// Every ledger entry, in order.
    pub fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.inner.ledger.entries()
    }

    /// The ledger as `GET /sim/ledger` serves it: every entry, and a summary
    /// of each call (with the rooms it joined) and each room.
    pub fn ledger_json(&self) -> Value {
        let entries: Vec<Value> = self.ledger_entries().iter().map(LedgerEntry::to_json).collect();
        let calls: Vec<Value> = self
            .calls()
            .iter()
            .map(|c| {
                json!({
                    "sid": c.sid, "to": c.to, "from": c.from, "status": c.status.as_str(),
                    "answered_by": c.answered_by,
                    "start_time": c.start_time.map(|t| t.to_rfc3339()),
                    "end_time": c.end_time.map(|t| t.to_rfc3339()),
                    "duration": c.duration_secs,
                })
            })
            .collect();
        let rooms: Vec<Value> = self
            .rooms()
            .iter()
            .map(|r| {
                json!({
                    "sid": r.sid, "name": r.name, "status": r.status.as_str(),
                    "reason_ended": r.reason_ended,
                    "participants": r.members.iter().filter(|m| m.connected).map(|m| &m.call_sid).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "account_sid": self.config().account_sid, "calls": calls, "rooms": rooms, "entries": entries })
    }

    pub(crate) fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    /// The next REST request's place in order (for its fault draws).
    pub(crate) fn next_request(&self) -> u64 {
        self.inner.rest_requests.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Records a new queued call and counts it as playing.
    pub(crate) fn register(&self, to: &str, from: &str, now: DateTime<Utc>) -> Registered {
        let sid = new_sid();
        let (control_tx, control) = watch::channel(Signal::default());
        let index = {
            let mut reg = self.registry();
            let index = reg.entries.len();
            let call = SimCall {
                sid: sid.clone(),
                index: index as u64,
                to: to.to_owned(),
                from: from.to_owned(),
                status: SimStatus::Queued,
                answered_by: None,
                dialed: Vec::new(),
                webhook_errors: Vec::new(),
                callbacks_sent: Vec::new(),
                date_created: now,
                date_updated: now,
                start_time: None,
                end_time: None,
                duration_secs: None,
            };
            reg.entries.push(Entry { call, control: control_tx });
            reg.by_sid.insert(sid.clone(), index);
            index as u64
        };
        self.inner.playing.send_modify(|n| *n += 1);
        self.ledger().record(
            Note { call_sid: Some(sid.clone()), number: Some(to.to_owned()), sim_secs: Some(0.0), room: None },
            "created",
            json!({"from": from}),
        );
        Registered { sid, index, control, playing: PlayingGuard { state: self.clone() } }
    }

    /// Runs `f` on the stored call; `None` when the SID is unknown.
    pub(crate) fn with_call<R>(&self, sid: &str, f: impl FnOnce(&mut SimCall) -> R) -> Option<R> {
        let mut reg = self.registry();
        let i = *reg.by_sid.get(sid)?;
        reg.entries.get_mut(i).map(|e| f(&mut e.call))
    }

    /// Applies a REST request to end a call and tells its player; returns
    /// the call as it now stands, `None` when the SID is unknown.
    pub(crate) fn end(&self, sid: &str, request: EndRequest, now: DateTime<Utc>) -> Option<SimCall> {
        let mut reg = self.registry();
        let i = *reg.by_sid.get(sid)?;
        let entry = reg.entries.get_mut(i)?;
        let call = &mut entry.call;
        let next = match (request, call.status) {
            (_, s) if s.is_final() => None,
            (EndRequest::Cancel, SimStatus::InProgress) => None,
            (EndRequest::Complete, SimStatus::InProgress) => Some(SimStatus::Completed),
            _ => Some(SimStatus::Canceled),
        };
        if let Some(status) = next {
            call.status = status;
            call.date_updated = now.max(call.date_updated);
            entry.control.send_modify(|s| s.hangup = true);
        }
        Some(entry.call.clone())
    }

    /// A live update with `Url` or `Twiml`: the call leaves what it is
    /// doing (a room included) and plays `voice`; one not yet answered
    /// plays it when answered. `Ok(None)` when the SID is unknown.
    pub(crate) fn redirect(
        &self,
        sid: &str,
        voice: Voice,
        now: DateTime<Utc>,
    ) -> Result<Option<SimCall>, NotInProgress> {
        let mut reg = self.registry();
        let Some(&i) = reg.by_sid.get(sid) else { return Ok(None) };
        let Some(entry) = reg.entries.get_mut(i) else { return Ok(None) };
        if entry.call.status.is_final() || entry.control.borrow().hangup {
            return Err(NotInProgress);
        }
        entry.call.date_updated = now.max(entry.call.date_updated);
        entry.control.send_modify(|s| {
            s.redirects += 1;
            s.redirect = Some(voice);
        });
        Ok(Some(entry.call.clone()))
    }

    /// Puts a call in the room `join` names; returns the room's SID, the
    /// numbers already there, and the callbacks to send.
    pub(crate) fn join_room(
        &self,
        call_sid: &str,
        number: &str,
        join: &Conference,
        now: DateTime<Utc>,
    ) -> (String, Vec<String>, Vec<(Delivery, CallbackFate)>) {
        let mut reg = self.registry();
        let config = self.config();
        let ctx = Ctx { account_sid: &config.account_sid, seed: config.seed, faults: &config.faults };
        let (i, others, change) = reg.rooms.join(call_sid, number, join, now, &ctx);
        let sid = reg.rooms.sid_at(i);
        let sends = self.apply(&mut reg, change);
        (sid, others, sends)
    }

    /// Takes a call out of whatever room it is in.
    pub(crate) fn leave_room(&self, call_sid: &str, why: Leaving, now: DateTime<Utc>) -> Vec<(Delivery, CallbackFate)> {
        let mut reg = self.registry();
        let config = self.config();
        let ctx = Ctx { account_sid: &config.account_sid, seed: config.seed, faults: &config.faults };
        let change = reg.rooms.leave(call_sid, why, now, &ctx);
        self.apply(&mut reg, change)
    }

    /// Ends a room through the API; `None` when the SID is unknown.
    pub(crate) fn end_room(
        &self,
        sid: &str,
        now: DateTime<Utc>,
    ) -> Option<(RoomSnapshot, Vec<(Delivery, CallbackFate)>)> {
        let mut reg = self.registry();
        let config = self.config();
        let ctx = Ctx { account_sid: &config.account_sid, seed: config.seed, faults: &config.faults };
        let i = reg.rooms.index_of(sid)?;
        let change = reg.rooms.end(i, now, &ctx);
        let sends = self.apply(&mut reg, change);
        Some((reg.rooms.by_sid(sid)?.clone(), sends))
    }

    /// Updates a participant; `None` when the room or participant is unknown.
    pub(crate) fn update_member(
        &self,
        room_sid: &str,
        call_sid: &str,
        update: &MemberUpdate,
        now: DateTime<Utc>,
    ) -> Option<(Member, Vec<(Delivery, CallbackFate)>)> {
        let mut reg = self.registry();
        let config = self.config();
        let ctx = Ctx { account_sid: &config.account_sid, seed: config.seed, faults: &config.faults };
        let i = reg.rooms.index_of(room_sid)?;
        let (member, change) = reg.rooms.update(i, call_sid, update, now, &ctx)?;
        Some((member, self.apply(&mut reg, change)))
    }

    /// Removes a participant through the API; `None` when it is not in that room.
    pub(crate) fn kick(
        &self,
        room_sid: &str,
        call_sid: &str,
        now: DateTime<Utc>,
    ) -> Option<Vec<(Delivery, CallbackFate)>> {
        let mut reg = self.registry();
        let config = self.config();
        let ctx = Ctx { account_sid: &config.account_sid, seed: config.seed, faults: &config.faults };
        let i = reg.rooms.index_of(room_sid)?;
        if reg.rooms.room_of(call_sid) != Some(i) {
            return None;
        }
        let change = reg.rooms.leave(call_sid, Leaving::Kicked, now, &ctx);
        Some(self.apply(&mut reg, change))
    }

    /// Registers a participant added through the API as ringing in the room
    /// named `join.name`; returns the room's SID.
    pub(crate) fn add_ringing(&self, call_sid: &str, number: &str, join: &Conference, now: DateTime<Utc>) -> String {
        let mut reg = self.registry();
        let seed = self.config().seed;
        let i = reg.rooms.live_or_new(&join.name, now, seed);
        reg.rooms.add_ringing(i, call_sid, number, join, now);
        reg.rooms.sid_at(i)
    }

    /// Forgets a ringing participant whose call was never answered.
    pub(crate) fn drop_ringing(&self, call_sid: &str, now: DateTime<Utc>) {
        self.registry().rooms.drop_ringing(call_sid, now);
    }

    /// Records a room change in the ledger and tells kicked calls; returns
    /// the callbacks to send.
    fn apply(&self, reg: &mut Registry, change: Change) -> Vec<(Delivery, CallbackFate)> {
        for (room, event, call_sid, detail) in change.notes {
            let number = call_sid
                .as_ref()
                .and_then(|sid| reg.by_sid.get(sid).and_then(|&i| reg.entries.get(i)).map(|e| e.call.to.clone()));
            self.ledger().record(Note { call_sid, number, room: Some(room), sim_secs: None }, event, detail);
        }
        for sid in &change.kicked {
            if let Some(entry) = reg.by_sid.get(sid).copied().and_then(|i| reg.entries.get(i)) {
                entry.control.send_modify(|s| s.kicks += 1);
            }
        }
        change.sends
    }

    /// The registry; a poisoned lock is taken over, as every write leaves
    /// the registry consistent.
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A Twilio-shaped SID: the prefix and 32 hex digits.
pub(crate) fn new_sid_with(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn new_sid() -> String {
    new_sid_with("CA")
}
