//! A scripted telephony double. It numbers the SIDs it hands out, records
//! every request (and the instant of each placed call), refuses the next
//! calls with scripted errors or every call when told to (or places one and
//! then loses the answer, as a timeout after Twilio acted), can take its
//! time answering the next calls (on tokio's clock), and answers
//! reconciliation reads from scripted remote states.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ibrat_ports::{CallInstruction, Clock, CreateCall, PlacedCall, RemoteCall, Telephony, TelephonyError};

/// One request the double received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelephonyRequest {
    Create(CreateCall),
    Fetch(String),
    End(String),
    Update(String, CallInstruction),
    ListTo(String, DateTime<Utc>),
}

/// One `create_call` the double accepted.
#[derive(Debug, Clone)]
pub struct PlacedRecord {
    pub req: CreateCall,
    pub at: DateTime<Utc>,
    pub sid: String,
}

/// The telephony double (see the module doc).
pub struct FakeTelephony {
    clock: Arc<dyn Clock>,
    next: AtomicU64,
    refuse_all: AtomicBool,
    requests: Mutex<Vec<TelephonyRequest>>,
    placed: Mutex<Vec<PlacedRecord>>,
    /// What the next `create_call`s do instead of succeeding, in order.
    failures: Mutex<VecDeque<Scripted>>,
    /// How long the next `create_call`s take to answer, in order.
    delays: Mutex<VecDeque<std::time::Duration>>,
    /// What `fetch_call` answers, by SID (absent: `queued` for a call placed
    /// here, not found otherwise).
    remote: Mutex<HashMap<String, RemoteCall>>,
    /// Calls placed and not yet finished, for tests that count them down.
    pub active: AtomicI64,
    /// The most `active` ever seen at a `create_call`.
    pub max_active: AtomicI64,
    /// Every `create_call`, refused or not.
    pub create_attempts: AtomicU64,
}

/// A scripted `create_call`.
enum Scripted {
    /// Refused with this error; nothing placed.
    Refuse(TelephonyError),
    /// Placed, then the answer is lost (`Ambiguous`).
    PlaceThenLose,
}

/// The SID the double gives its `n`th placed call (from 1).
pub fn sid(n: u64) -> String {
    format!("CA{n:032x}")
}

impl FakeTelephony {
    /// Accepts every call; placed calls are stamped with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeTelephony {
            clock,
            next: AtomicU64::new(1),
            refuse_all: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            placed: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            delays: Mutex::new(VecDeque::new()),
            remote: Mutex::new(HashMap::new()),
            active: AtomicI64::new(0),
            max_active: AtomicI64::new(0),
            create_attempts: AtomicU64::new(0),
        }
    }

    /// Refuses every call from now on, as a provider that is down
    /// (`Unavailable`), for tests where telephony must not be reached.
    pub fn refuse_all(&self) {
        self.refuse_all.store(true, Ordering::SeqCst);
    }

    /// The next `create_call`s fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = TelephonyError>) {
        lock(&self.failures).extend(errors.into_iter().map(Scripted::Refuse));
    }

    /// The next `create_call` places the call, then answers `Ambiguous` (a
    /// timeout after Twilio acted).
    pub fn place_then_lose_next(&self) {
        lock(&self.failures).push_back(Scripted::PlaceThenLose);
    }

    /// The next `create_call`s take these long to answer (a sleep on
    /// tokio's clock, after the request is recorded), in order.
    pub fn delay_next(&self, delays: impl IntoIterator<Item = std::time::Duration>) {
        lock(&self.delays).extend(delays);
    }

    /// The calls accepted so far.
    pub fn placed(&self) -> Vec<PlacedRecord> {
        lock(&self.placed).clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<TelephonyRequest> {
        lock(&self.requests).clone()
    }

    /// The SIDs `end_call` was asked to end, in order.
    pub fn ended(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter_map(|r| match r {
                TelephonyRequest::End(sid) => Some(sid),
                _ => None,
            })
            .collect()
    }

    /// Twilio's status of a call from now on (what `fetch_call` and
    /// `list_calls_to` report).
    pub fn set_status(&self, sid: &str, status: &str) {
        self.set_remote(sid, status, None, None);
    }

    /// What `fetch_call(sid)` answers from now on.
    pub fn set_remote(&self, sid: &str, status: &str, answered_by: Option<&str>, duration: Option<u32>) {
        let call = RemoteCall {
            sid: sid.to_owned(),
            status: status.to_owned(),
            answered_by: answered_by.map(str::to_owned),
            duration_secs: duration,
            to: None,
            created_at: None,
        };
        lock(&self.remote).insert(sid.to_owned(), call);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Telephony for FakeTelephony {
    async fn create_call(&self, req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        lock(&self.requests).push(TelephonyRequest::Create(req.clone()));
        self.create_attempts.fetch_add(1, Ordering::SeqCst);
        let delay = lock(&self.delays).pop_front();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if self.refuse_all.load(Ordering::SeqCst) {
            return Err(TelephonyError::Unavailable("telephony is not used in this test".into()));
        }
        let scripted = lock(&self.failures).pop_front();
        if let Some(Scripted::Refuse(e)) = scripted {
            return Err(e);
        }
        let sid = sid(self.next.fetch_add(1, Ordering::SeqCst));
        let active = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(active, Ordering::SeqCst);
        lock(&self.placed).push(PlacedRecord { req: req.clone(), at: self.clock.now(), sid: sid.clone() });
        match scripted {
            Some(Scripted::PlaceThenLose) => Err(TelephonyError::Ambiguous("timed out after sending".into())),
            _ => Ok(PlacedCall { sid, status: "queued".into() }),
        }
    }

    async fn fetch_call(&self, sid: &str) -> Result<RemoteCall, TelephonyError> {
        lock(&self.requests).push(TelephonyRequest::Fetch(sid.to_owned()));
        if let Some(call) = lock(&self.remote).get(sid) {
            return Ok(call.clone());
        }
        // A call placed here and never scripted is still queued.
        let placed = lock(&self.placed);
        let p = placed.iter().find(|p| p.sid == sid).ok_or(TelephonyError::NotFound)?;
        Ok(RemoteCall {
            sid: p.sid.clone(),
            status: "queued".into(),
            answered_by: None,
            duration_secs: None,
            to: Some(p.req.to.clone()),
            created_at: Some(p.at),
        })
    }

    async fn end_call(&self, sid: &str) -> Result<(), TelephonyError> {
        lock(&self.requests).push(TelephonyRequest::End(sid.to_owned()));
        if lock(&self.placed).iter().any(|p| p.sid == sid) {
            self.set_status(sid, "completed");
        }
        Ok(())
    }

    async fn update_call(&self, sid: &str, instruction: &CallInstruction) -> Result<(), TelephonyError> {
        lock(&self.requests).push(TelephonyRequest::Update(sid.to_owned(), instruction.clone()));
        Ok(())
    }

    async fn list_calls_to(&self, to: &str, since: DateTime<Utc>) -> Result<Vec<RemoteCall>, TelephonyError> {
        lock(&self.requests).push(TelephonyRequest::ListTo(to.to_owned(), since));
        let placed = lock(&self.placed);
        let remote = lock(&self.remote);
        let mut found: Vec<RemoteCall> = placed
            .iter()
            .filter(|p| p.req.to == to && p.at >= since)
            .map(|p| RemoteCall {
                sid: p.sid.clone(),
                status: remote.get(&p.sid).map_or_else(|| "queued".to_owned(), |r| r.status.clone()),
                answered_by: None,
                duration_secs: None,
                to: Some(p.req.to.clone()),
                created_at: Some(p.at),
            })
            .collect();
        found.reverse();
        Ok(found)
    }
}
