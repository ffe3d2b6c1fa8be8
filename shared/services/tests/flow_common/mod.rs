//! Harness of the agent-session and call-record tests: local adapters, a
//! pinned clock, and a telephony double that records every request and can
//! be told to fail, or to place a call and then lose the answer.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{
    AgentSession, Availability, Call, CallId, Email, Event, EventKind, Lead, LeadId, LeadStatus, Phone, Priority,
    Region, Role, Settings, User, UserId,
};
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, Clock, CreateCall, EventPublisher, ManualClock, NoConnections, PlacedCall, RemoteCall, Store,
    Telephony, TelephonyError,
};
use ibrat_services::auth::Actor;
use ibrat_services::repo;
use ibrat_services::sessions::{self, ConferenceEvent, ConferenceEventKind, SessionRef};
use ibrat_services::{Config, Deps};

/// What the next `create_call` does.
#[derive(Debug, Clone)]
pub enum Next {
    /// Refuse with this error (nothing placed).
    Fail(TelephonyError),
    /// Place the call, then lose the answer (a timeout after Twilio acted).
    PlaceThenLose,
}

/// One call Twilio "has".
#[derive(Debug, Clone)]
pub struct Placed {
    pub req: CreateCall,
    pub sid: String,
    pub at: DateTime<Utc>,
    pub status: String,
}

/// The telephony double.
pub struct RecTel {
    clock: Arc<dyn Clock>,
    next_sid: AtomicU64,
    pub script: Mutex<VecDeque<Next>>,
    pub placed: Mutex<Vec<Placed>>,
    pub ended: Mutex<Vec<String>>,
    pub updated: Mutex<Vec<(String, CallInstruction)>>,
    pub create_requests: AtomicU64,
}

impl RecTel {
    fn new(clock: Arc<dyn Clock>) -> Self {
        RecTel {
            clock,
            next_sid: AtomicU64::new(1),
            script: Mutex::new(VecDeque::new()),
            placed: Mutex::new(Vec::new()),
            ended: Mutex::new(Vec::new()),
            updated: Mutex::new(Vec::new()),
            create_requests: AtomicU64::new(0),
        }
    }

    pub fn then(&self, next: Next) {
        self.script.lock().unwrap().push_back(next);
    }

    pub fn placed(&self) -> Vec<Placed> {
        self.placed.lock().unwrap().clone()
    }

    pub fn ended(&self) -> Vec<String> {
        self.ended.lock().unwrap().clone()
    }

    /// Sets what Twilio reports for a placed call.
    pub fn set_status(&self, sid: &str, status: &str) {
        for p in self.placed.lock().unwrap().iter_mut().filter(|p| p.sid == sid) {
            p.status = status.to_owned();
        }
    }

    fn remote(p: &Placed) -> RemoteCall {
        RemoteCall {
            sid: p.sid.clone(),
            status: p.status.clone(),
            answered_by: None,
            duration_secs: None,
            to: Some(p.req.to.clone()),
            created_at: Some(p.at),
        }
    }
}

#[async_trait]
impl Telephony for RecTel {
    async fn create_call(&self, req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        self.create_requests.fetch_add(1, Ordering::SeqCst);
        let next = self.script.lock().unwrap().pop_front();
        if let Some(Next::Fail(e)) = next {
            return Err(e);
        }
        let sid = format!("CA{:032x}", self.next_sid.fetch_add(1, Ordering::SeqCst));
        let at = self.clock.now();
        self.placed.lock().unwrap().push(Placed { req: req.clone(), sid: sid.clone(), at, status: "queued".into() });
        match next {
            Some(Next::PlaceThenLose) => Err(TelephonyError::Ambiguous("timed out after sending".into())),
            _ => Ok(PlacedCall { sid, status: "queued".into() }),
        }
    }

    async fn fetch_call(&self, sid: &str) -> Result<RemoteCall, TelephonyError> {
        self.placed.lock().unwrap().iter().find(|p| p.sid == sid).map(Self::remote).ok_or(TelephonyError::NotFound)
    }

    async fn end_call(&self, sid: &str) -> Result<(), TelephonyError> {
        self.ended.lock().unwrap().push(sid.to_owned());
        self.set_status(sid, "completed");
        Ok(())
    }

    async fn update_call(&self, sid: &str, instruction: &CallInstruction) -> Result<(), TelephonyError> {
        self.updated.lock().unwrap().push((sid.to_owned(), instruction.clone()));
        Ok(())
    }

    async fn list_calls_to(&self, to: &str, since: DateTime<Utc>) -> Result<Vec<RemoteCall>, TelephonyError> {
        let placed = self.placed.lock().unwrap();
        Ok(placed.iter().rev().filter(|p| p.req.to == to && p.at >= since).map(Self::remote).collect())
    }
}

#[derive(Default)]
pub struct Events(Mutex<Vec<Event>>);

#[async_trait]
impl EventPublisher for Events {
    async fn publish(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

pub struct H {
    pub deps: Deps,
    pub store: Arc<RedbStore>,
    pub events: Arc<Events>,
    pub clock: Arc<ManualClock>,
    pub tel: Arc<RecTel>,
    pub queue: Arc<MemQueue>,
}

pub fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

impl H {
    pub async fn new() -> H {
        // Tuesday 11:00 in Tashkent: inside the default calling window.
        let at = DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").unwrap().with_timezone(&Utc);
        let manual = Arc::new(ManualClock::new(at));
        let clock: Arc<dyn Clock> = manual.clone();
        let store = Arc::new(RedbStore::in_memory().unwrap().with_clock(clock.clone()));
        let events = Arc::new(Events::default());
        let tel = Arc::new(RecTel::new(clock.clone()));
        let queue = Arc::new(MemQueue::new());
        let mut config = Config::for_tests();
        config.public_url = "https://dialer.example.com".into();
        let deps = Deps {
            store: store.clone(),
            queue: queue.clone(),
            events: events.clone(),
            connections: Arc::new(NoConnections),
            telephony: tel.clone(),
            blobs: Arc::new(FsBlobStore::new(std::env::temp_dir().join("ibrat-flow-tests"), "http://127.0.0.1/")),
            clock,
            config: Arc::new(config),
        };
        let mut s = Settings::default();
        s.pacing.calls_per_second = 100;
        repo::settings::put(store.as_ref(), &s).await.unwrap();
        H { deps, store, events, clock: manual, tel, queue }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// A salesperson (away, no session), with a phone number or not.
    pub async fn salesperson(&self, n: u32, with_phone: bool) -> UserId {
        let id = UserId::new();
        let since = ms(self.now() - Duration::minutes(10));
        let rec = repo::users::UserRecord {
            user: User {
                id: id.clone(),
                name: format!("Sales {n}"),
                email: Email::parse(&format!("sales{n}@example.com")).unwrap(),
                phone: with_phone.then(|| Phone::parse(&format!("+99891{n:07}"), Region::default()).unwrap()),
                role: Role::Salesperson,
                active: true,
                availability: Availability::Away,
                availability_since: since,
                created_at: since,
                updated_at: since,
            },
            password_hash: "$argon2id$test".into(),
        };
        repo::users::create(self.store.as_ref(), &rec).await.unwrap();
        id
    }

    pub fn actor(&self, id: &UserId) -> Actor {
        Actor { id: id.clone(), role: Role::Salesperson }
    }

    pub async fn session(&self, id: &UserId) -> AgentSession {
        repo::sessions::get(self.store.as_ref(), id).await.unwrap().unwrap()
    }

    pub fn session_ref(&self, s: &AgentSession) -> SessionRef {
        SessionRef { user_id: s.user_id.clone(), started_ms: s.started_at.timestamp_millis() }
    }

    pub async fn availability(&self, id: &UserId) -> Availability {
        repo::users::get(self.store.as_ref(), id).await.unwrap().unwrap().user.availability
    }

    /// Starts a session and drives it to line up: their phone answers,
    /// their leg joins their room. Returns their leg's SID.
    pub async fn line_up(&self, id: &UserId) -> String {
        sessions::start(&self.deps, &self.actor(id)).await.unwrap();
        let s = self.session(id).await;
        let sid = s.agent_call_sid.clone().expect("sid recorded");
        sessions::on_agent_voice(&self.deps, &self.session_ref(&s), &sid).await.unwrap();
        self.room(id, ConferenceEventKind::Join, &sid).await;
        sid
    }

    /// A conference callback for `id`'s room.
    pub async fn room(&self, id: &UserId, kind: ConferenceEventKind, sid: &str) -> sessions::ConferenceOutcome {
        let ev = ConferenceEvent { room: format!("agent-{id}"), kind, call_sid: Some(sid.to_owned()) };
        sessions::on_conference_event(&self.deps, &ev).await.unwrap()
    }

    /// A queued lead, due now.
    pub async fn lead(&self, n: u32) -> Lead {
        let phone = Phone::parse(&format!("+99890{n:07}"), Region::default()).unwrap();
        let now = ms(self.now());
        let lead = Lead {
            id: LeadId::for_phone(&phone),
            name: format!("Lead {n}"),
            phone,
            email: None,
            priority: Priority::Medium,
            status: LeadStatus::Queued,
            attempts: 0,
            next_attempt_at: Some(now - Duration::minutes(1)),
            callback: false,
            timezone: Some("Asia/Tashkent".into()),
            notes: String::new(),
            custom: BTreeMap::new(),
            import_id: None,
            import_line: None,
            last_call_id: None,
            salesperson_id: None,
            hold_reason: None,
            created_at: now - Duration::hours(1),
            updated_at: now - Duration::hours(1),
            version: 1,
        };
        self.store.put(repo::leads::to_item(&lead), None).await.unwrap();
        lead
    }

    pub async fn get_lead(&self, id: &LeadId) -> Lead {
        repo::leads::get(self.store.as_ref(), id).await.unwrap().unwrap()
    }

    pub async fn call(&self, id: &CallId) -> Call {
        repo::calls::get(self.store.as_ref(), id).await.unwrap().unwrap()
    }

    pub fn events(&self) -> Vec<EventKind> {
        self.events.0.lock().unwrap().iter().map(|e| e.kind.clone()).collect()
    }
}
