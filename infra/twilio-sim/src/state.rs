//! The simulator's shared state: its config, every call it has created, the
//! count of calls still playing, and the HTTP client that calls webhooks.
//! Cheap to clone; the REST handlers and every call's player hold one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::call::{SimCall, SimStats, SimStatus};
use crate::config::SimConfig;

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
}

#[derive(Default)]
struct Registry {
    entries: Vec<Entry>,
    by_sid: HashMap<String, usize>,
}

struct Entry {
    call: SimCall,
    hangup: watch::Sender<bool>,
}

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
    pub hangup: watch::Receiver<bool>,
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
        Ok(SimState { inner: Arc::new(Inner { config, http, calls: Mutex::default(), playing }) })
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

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Records a new queued call and counts it as playing.
    pub(crate) fn register(&self, to: &str, from: &str, now: DateTime<Utc>) -> Registered {
        let sid = new_sid();
        let (hangup_tx, hangup) = watch::channel(false);
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
            reg.entries.push(Entry { call, hangup: hangup_tx });
            reg.by_sid.insert(sid.clone(), index);
            index as u64
        };
        self.inner.playing.send_modify(|n| *n += 1);
        Registered { sid, index, hangup, playing: PlayingGuard { state: self.clone() } }
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
            entry.hangup.send_replace(true);
        }
        Some(entry.call.clone())
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
