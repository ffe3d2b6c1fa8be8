//! Shared harness of the dialing tests: local adapters, a clock tests
//! control, a telephony double that records every call it is asked to place,
//! and helpers to create leads and salespeople.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{
    Availability, Email, Event, EventKind, Lead, LeadId, LeadStatus, Phone, Priority, Region, Role, Settings, User,
    UserId,
};
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, Clock, CreateCall, EventPublisher, ManualClock, NoConnections, PlacedCall, Queue, RemoteCall,
    Store, Telephony, TelephonyError,
};
use ibrat_services::dialing::{handle_message, MessageOutcome};
use ibrat_services::repo;
use ibrat_services::{Config, Deps};

/// Parses an RFC 3339 instant.
pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("valid instant").with_timezone(&Utc)
}

/// Tuesday 2026-11-24 11:00 in Tashkent (UTC+5): inside the default window.
pub fn tuesday_morning() -> DateTime<Utc> {
    utc("2026-11-24T06:00:00Z")
}

/// A clock that follows tokio's (possibly paused) time from `base`, so
/// sleeps in the code under test move it and paused-time tests run fast.
pub struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn new(base: DateTime<Utc>) -> Self {
        TokioClock { base, start: tokio::time::Instant::now() }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + Duration::from_std(self.start.elapsed()).expect("elapsed fits")
    }
}

/// One `create_call` the double accepted.
#[derive(Debug, Clone)]
pub struct PlacedRecord {
    pub req: CreateCall,
    pub at: DateTime<Utc>,
    pub sid: String,
}

/// A telephony double: scripted failures, recorded calls, scripted remote
/// states for reconciliation.
pub struct FakeTelephony {
    clock: Arc<dyn Clock>,
    next: AtomicU64,
    pub placed: Mutex<Vec<PlacedRecord>>,
    /// Errors returned by the next `create_call`s, in order.
    pub failures: Mutex<VecDeque<TelephonyError>>,
    /// What `fetch_call` answers, by SID (absent: not found).
    pub remote: Mutex<HashMap<String, RemoteCall>>,
    /// Calls placed and not yet finished, maintained by tests that finish.
    pub active: AtomicI64,
    /// The most `active` ever seen at a `create_call`.
    pub max_active: AtomicI64,
    pub create_attempts: AtomicU64,
}

impl FakeTelephony {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeTelephony {
            clock,
            next: AtomicU64::new(1),
            placed: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            remote: Mutex::new(HashMap::new()),
            active: AtomicI64::new(0),
            max_active: AtomicI64::new(0),
            create_attempts: AtomicU64::new(0),
        }
    }

    pub fn fail_next(&self, errors: impl IntoIterator<Item = TelephonyError>) {
        self.failures.lock().unwrap().extend(errors);
    }

    pub fn placed(&self) -> Vec<PlacedRecord> {
        self.placed.lock().unwrap().clone()
    }

    pub fn set_remote(&self, sid: &str, status: &str, answered_by: Option<&str>, duration: Option<u32>) {
        self.remote.lock().unwrap().insert(
            sid.to_owned(),
            RemoteCall {
                sid: sid.to_owned(),
                status: status.to_owned(),
                answered_by: answered_by.map(str::to_owned),
                duration_secs: duration,
                to: None,
                created_at: None,
            },
        );
    }
}

#[async_trait]
impl Telephony for FakeTelephony {
    async fn create_call(&self, req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        self.create_attempts.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = self.failures.lock().unwrap().pop_front() {
            return Err(e);
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let sid = format!("CA{n:032x}");
        let active = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(active, Ordering::SeqCst);
        self.placed.lock().unwrap().push(PlacedRecord { req: req.clone(), at: self.clock.now(), sid: sid.clone() });
        Ok(PlacedCall { sid, status: "queued".into() })
    }

    async fn fetch_call(&self, sid: &str) -> Result<RemoteCall, TelephonyError> {
        self.remote.lock().unwrap().get(sid).cloned().ok_or(TelephonyError::NotFound)
    }

    async fn end_call(&self, _sid: &str) -> Result<(), TelephonyError> {
        Ok(())
    }

    async fn update_call(&self, _sid: &str, _instruction: &CallInstruction) -> Result<(), TelephonyError> {
        Err(TelephonyError::NotFound)
    }

    async fn list_calls_to(
        &self,
        _to: &str,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<RemoteCall>, TelephonyError> {
        Ok(Vec::new())
    }
}

/// Records every event.
#[derive(Default)]
pub struct RecordingEvents(pub Mutex<Vec<Event>>);

#[async_trait]
impl EventPublisher for RecordingEvents {
    async fn publish(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl RecordingEvents {
    pub fn kinds(&self) -> Vec<EventKind> {
        self.0.lock().unwrap().iter().map(|e| e.kind.clone()).collect()
    }
}

/// Everything a dialing test needs.
pub struct Harness {
    pub deps: Deps,
    pub store: Arc<RedbStore>,
    pub queue: Arc<MemQueue>,
    pub tel: Arc<FakeTelephony>,
    pub events: Arc<RecordingEvents>,
    pub manual: Option<Arc<ManualClock>>,
}

impl Harness {
    /// A harness on a manual clock stopped at `at`.
    pub fn manual(at: DateTime<Utc>) -> Self {
        let clock = Arc::new(ManualClock::new(at));
        let mut h = Self::with_clock(clock.clone());
        h.manual = Some(clock);
        h
    }

    /// A harness on any clock.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let store = Arc::new(RedbStore::in_memory().expect("in-memory store").with_clock(clock.clone()));
        let queue = Arc::new(MemQueue::new());
        let tel = Arc::new(FakeTelephony::new(clock.clone()));
        let events = Arc::new(RecordingEvents::default());
        let blobs = Arc::new(FsBlobStore::new(std::env::temp_dir().join("ibrat-dialing-tests"), "http://127.0.0.1/"));
        let mut config = Config::for_tests();
        config.public_url = "https://dialer.example.com".into();
        let deps = Deps {
            store: store.clone(),
            queue: queue.clone(),
            events: events.clone(),
            connections: Arc::new(NoConnections),
            telephony: tel.clone(),
            blobs,
            clock,
            config: Arc::new(config),
        };
        Harness { deps, store, queue, tel, events, manual: None }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.manual.as_ref().expect("manual clock").advance(by);
    }

    pub fn set_time(&self, at: DateTime<Utc>) {
        self.manual.as_ref().expect("manual clock").set(at);
    }

    /// Stores settings derived from the defaults (with a generous call rate
    /// so sequential tests never wait for a slot).
    pub async fn settings(&self, edit: impl FnOnce(&mut Settings)) -> Settings {
        let mut s = Settings::default();
        s.pacing.calls_per_second = 100;
        edit(&mut s);
        s.validate().expect("valid test settings");
        repo::settings::put(self.store.as_ref(), &s).await.expect("settings stored");
        s
    }

    /// Stores `n` available salespeople, each on an open line.
    pub async fn salespeople(&self, n: usize) -> Vec<UserId> {
        let mut ids = Vec::new();
        for i in 0..n {
            let id = UserId::new();
            let now = self.now() - Duration::seconds(100 - i as i64);
            let rec = repo::users::UserRecord {
                user: User {
                    id: id.clone(),
                    name: format!("Sales {i}"),
                    email: Email::parse(&format!("sales{i}-{}@example.com", id.as_str())).unwrap(),
                    phone: None,
                    role: Role::Salesperson,
                    active: true,
                    availability: Availability::Available,
                    availability_since: ms(now),
                    created_at: ms(now),
                    updated_at: ms(now),
                },
                password_hash: "$argon2id$test".into(),
            };
            repo::users::create(self.store.as_ref(), &rec).await.expect("user stored");
            ibrat_testkit::open_line(self.store.as_ref(), &id, now, &format!("CA{:032x}", 0xa000 + i)).await;
            ids.push(id);
        }
        ids
    }

    /// Stores a queued lead for `+99890<7 digits of n>` due at `due`.
    pub async fn lead(&self, n: u32, priority: Priority, due: DateTime<Utc>, created: DateTime<Utc>) -> Lead {
        let lead = make_lead(n, priority, due, created, Some("Asia/Tashkent"));
        self.put_lead(&lead).await;
        lead
    }

    pub async fn put_lead(&self, lead: &Lead) {
        self.store.put(repo::leads::to_item(lead), None).await.expect("lead stored");
    }

    pub async fn get_lead(&self, id: &LeadId) -> Lead {
        repo::leads::get(self.store.as_ref(), id).await.unwrap().expect("lead exists")
    }

    pub async fn in_flight(&self) -> i64 {
        repo::pacing::get(self.store.as_ref()).await.unwrap().in_flight
    }

    /// Receives every visible message without handling it.
    pub async fn take_messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let got = self.queue.receive(10, StdDuration::ZERO, StdDuration::from_secs(600)).await.unwrap();
            if got.is_empty() {
                return out;
            }
            for m in got {
                self.queue.delete(&m.receipt).await.unwrap();
                out.push(m.body);
            }
        }
    }

    /// Handles every visible `Dial` message (other kinds are dropped),
    /// returning the outcomes.
    pub async fn run_dials(&self) -> Vec<MessageOutcome> {
        let mut out = Vec::new();
        for body in self.take_messages().await {
            if body.contains("\"dial\"") {
                out.push(handle_message(&self.deps, &body).await.expect("dial handled"));
            }
        }
        out
    }
}

/// Millisecond precision, as stored.
pub fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

/// A queued lead value (not stored).
pub fn make_lead(n: u32, priority: Priority, due: DateTime<Utc>, created: DateTime<Utc>, tz: Option<&str>) -> Lead {
    let phone = Phone::parse(&format!("+99890{n:07}"), Region::default()).expect("valid phone");
    Lead {
        id: LeadId::for_phone(&phone),
        name: format!("Lead {n}"),
        phone,
        email: None,
        priority,
        status: LeadStatus::Queued,
        attempts: 0,
        next_attempt_at: Some(ms(due)),
        callback: false,
        timezone: tz.map(str::to_owned),
        notes: String::new(),
        custom: BTreeMap::new(),
        import_id: None,
        import_line: None,
        last_call_id: None,
        salesperson_id: None,
        hold_reason: None,
        created_at: ms(created),
        updated_at: ms(created),
        version: 1,
    }
}
