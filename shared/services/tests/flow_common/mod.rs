//! Helpers of the call-flow and agent-session tests, over the test kit
//! ([`TestDeps`]: local adapters, the pinned clock, the scripted telephony
//! that records every request): salespeople on open lines, leads placed by
//! the real dialer, conference callbacks, and reads of what was stored.
#![allow(dead_code)]

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{AgentSession, Availability, Call, CallId, EventKind, Lead, LeadId, Role, UserId};
use ibrat_services::auth::Actor;
use ibrat_services::dialing::{dial, DialOutcome};
use ibrat_services::repo;
use ibrat_services::sessions::{self, ConferenceEvent, ConferenceEventKind, SessionRef};
use ibrat_services::Deps;
use ibrat_testkit::{lead, open_line, salesperson, CrashingStore, TestDeps};

/// A test system on the kit.
pub struct H(pub TestDeps);

impl Deref for H {
    type Target = TestDeps;
    fn deref(&self) -> &TestDeps {
        &self.0
    }
}

impl H {
    /// The kit's defaults, with settings whose call rate never makes a
    /// sequential test wait.
    pub async fn new() -> H {
        let t = TestDeps::new();
        t.settings(|_| {}).await;
        H(t)
    }

    /// A system whose services write through a [`CrashingStore`] (told
    /// when to stop writing); [`H::restarted`] is the same data after a
    /// restart.
    pub async fn crashing() -> (H, Arc<CrashingStore>) {
        let cell: Arc<OnceLock<Arc<CrashingStore>>> = Arc::default();
        let stash = cell.clone();
        let t = TestDeps::builder()
            .store(move |redb| {
                let crashing = Arc::new(CrashingStore::new(Arc::new(redb)));
                let _ = stash.set(crashing.clone());
                crashing
            })
            .build();
        t.settings(|_| {}).await;
        let crashing = cell.get().expect("the store was built").clone();
        (H(t), crashing)
    }

    /// The ports as after a restart: the same table, written normally.
    pub fn restarted(&self) -> Deps {
        Deps { store: self.store.clone(), ..self.deps.clone() }
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Salesperson `n` (phone `+99891<n>`), away and with no session, or
    /// without a phone number.
    pub async fn salesperson_away(&self, n: u32, with_phone: bool) -> UserId {
        let b = salesperson(n, self.now() - Duration::minutes(10)).availability(Availability::Away);
        let b = if with_phone { b } else { b.no_phone() };
        b.store(self.store.as_ref()).await.id
    }

    /// An available salesperson on an open line, idle since `idle_secs` ago.
    pub async fn salesperson(&self, n: u32, idle_secs: i64) -> UserId {
        let id = self.salesperson_without_line(n, idle_secs).await;
        let up = self.now() - Duration::seconds(idle_secs);
        open_line(self.store.as_ref(), &id, up, &format!("CA{:032x}", 0xa000 + n)).await;
        id
    }

    /// A salesperson marked available in the table but with no session.
    pub async fn salesperson_without_line(&self, n: u32, idle_secs: i64) -> UserId {
        salesperson(n, self.now() - Duration::seconds(idle_secs)).store(self.store.as_ref()).await.id
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

    /// A user's availability and the call they are on.
    pub async fn user(&self, id: &UserId) -> (Availability, Option<String>) {
        let (rec, call) = repo::users::get_with_call(self.store.as_ref(), id).await.unwrap().unwrap();
        (rec.user.availability, call.map(|c| c.to_string()))
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

    /// Lead `n`, queued and due a minute ago.
    pub async fn lead(&self, n: u32) -> Lead {
        lead(n, self.now() - Duration::minutes(1))
            .created(self.now() - Duration::hours(1))
            .store(self.store.as_ref())
            .await
    }

    /// Lead `n`, dialed at once by the real dialer.
    pub async fn placed_call(&self, n: u32) -> (Lead, CallId) {
        let lead = self.lead(n).await;
        match dial(&self.deps, &lead.id, true).await.unwrap() {
            DialOutcome::Placed { call_id, .. } => (lead, call_id),
            other => panic!("not placed: {other:?}"),
        }
    }

    pub async fn get_lead(&self, id: &LeadId) -> Lead {
        repo::leads::get(self.store.as_ref(), id).await.unwrap().unwrap()
    }

    pub async fn call(&self, id: &CallId) -> Call {
        repo::calls::get(self.store.as_ref(), id).await.unwrap().unwrap()
    }

    pub fn events(&self) -> Vec<EventKind> {
        self.0.events.kinds()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.0.events.types()
    }
}

/// Millisecond precision, as the store keeps instants.
pub fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    ibrat_testkit::ms(t)
}
