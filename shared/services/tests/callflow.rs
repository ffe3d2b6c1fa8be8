//! The call flow over local adapters: calls placed by the real dialer, then
//! driven through status, voice and dial steps. The HTTP-level tests (with
//! signed Twilio requests) live in `ibrat-http`; these check the races.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{
    Availability, CallId, CallStatus, Email, Event, Lead, LeadId, LeadStatus, Phone, Priority, Region, Role, Settings,
    User, UserId,
};
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, Clock, CreateCall, EventPublisher, ManualClock, NoConnections, PlacedCall, RemoteCall, Store,
    Telephony, TelephonyError,
};
use ibrat_services::callflow::{
    on_dial_action, on_status, on_voice, DialCallStatus, DialDecision, DialResult, IgnoreReason, StatusOutcome,
    StatusUpdate, TwilioCallStatus, VoiceDecision, VoiceInput,
};
use ibrat_services::dialing::{dial, DialOutcome, FinishOutcome};
use ibrat_services::repo::{self, keys};
use ibrat_services::{Config, Deps};

struct Tel(AtomicU64);

#[async_trait]
impl Telephony for Tel {
    async fn create_call(&self, _req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Ok(PlacedCall { sid: format!("CA{n:032x}"), status: "queued".into() })
    }
    async fn fetch_call(&self, _sid: &str) -> Result<RemoteCall, TelephonyError> {
        Err(TelephonyError::NotFound)
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

#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

#[async_trait]
impl EventPublisher for Events {
    async fn publish(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

struct H {
    deps: Deps,
    store: Arc<RedbStore>,
    events: Arc<Events>,
    clock: Arc<ManualClock>,
}

fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

impl H {
    async fn new() -> H {
        // Tuesday 11:00 in Tashkent: inside the default calling window.
        let at = DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").unwrap().with_timezone(&Utc);
        let manual = Arc::new(ManualClock::new(at));
        let clock: Arc<dyn Clock> = manual.clone();
        let store = Arc::new(RedbStore::in_memory().unwrap().with_clock(clock.clone()));
        let events = Arc::new(Events::default());
        let mut config = Config::for_tests();
        config.public_url = "https://dialer.example.com".into();
        let deps = Deps {
            store: store.clone(),
            queue: Arc::new(MemQueue::new()),
            events: events.clone(),
            connections: Arc::new(NoConnections),
            telephony: Arc::new(Tel(AtomicU64::new(1))),
            blobs: Arc::new(FsBlobStore::new(std::env::temp_dir().join("ibrat-callflow-tests"), "http://127.0.0.1/")),
            clock,
            config: Arc::new(config),
        };
        let mut s = Settings::default();
        s.pacing.calls_per_second = 100;
        repo::settings::put(store.as_ref(), &s).await.unwrap();
        H { deps, store, events, clock: manual }
    }

    fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    /// An available salesperson, idle since `idle_secs` ago.
    async fn salesperson(&self, n: u32, idle_secs: i64) -> UserId {
        let id = UserId::new();
        let since = ms(self.now() - Duration::seconds(idle_secs));
        let rec = repo::users::UserRecord {
            user: User {
                id: id.clone(),
                name: format!("Sales {n}"),
                email: Email::parse(&format!("sales{n}@example.com")).unwrap(),
                phone: Some(Phone::parse(&format!("+99891{n:07}"), Region::default()).unwrap()),
                role: Role::Salesperson,
                active: true,
                availability: Availability::Available,
                availability_since: since,
                created_at: since,
                updated_at: since,
            },
            password_hash: "$argon2id$test".into(),
        };
        repo::users::create(self.store.as_ref(), &rec).await.unwrap();
        id
    }

    /// A queued lead, dialed at once by the real dialer.
    async fn placed_call(&self, n: u32) -> (Lead, CallId) {
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
        match dial(&self.deps, &lead.id, true).await.unwrap() {
            DialOutcome::Placed { call_id, .. } => (lead, call_id),
            other => panic!("not placed: {other:?}"),
        }
    }

    async fn user(&self, id: &UserId) -> (Availability, Option<String>) {
        let item = self.store.get(&keys::user(id)).await.unwrap().unwrap();
        (Availability::parse(item.s("availability").unwrap()).unwrap(), item.s("current_call_id").map(str::to_owned))
    }
}

fn update(status: TwilioCallStatus, seq: u32) -> StatusUpdate {
    StatusUpdate { sequence: Some(seq), ..StatusUpdate::new(status) }
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
    let mut bridged = Vec::new();
    let mut abandoned = 0;
    for t in tasks {
        match t.await.unwrap() {
            (id, VoiceDecision::BridgeTo(b)) => bridged.push((id, b.salesperson_id)),
            (_, VoiceDecision::Abandon { .. }) => abandoned += 1,
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((bridged.len(), abandoned), (2, 4), "{bridged:?}");
    let people: HashSet<_> = bridged.iter().map(|(_, sp)| sp.clone()).collect();
    assert_eq!(people, HashSet::from([a.clone(), b.clone()]));
    for (call_id, sp) in &bridged {
        assert_eq!(h.user(sp).await, (Availability::OnCall, Some(call_id.to_string())));
        let call = repo::calls::get(h.store.as_ref(), call_id).await.unwrap().unwrap();
        assert_eq!((call.status, call.salesperson_id.as_ref()), (CallStatus::Bridged, Some(sp)));
    }
    // Every abandoned call is finished, its lead rescheduled urgently.
    for id in calls.iter().filter(|id| !bridged.iter().any(|(b, _)| b == *id)) {
        let call = repo::calls::get(h.store.as_ref(), id).await.unwrap().unwrap();
        assert_eq!(call.status, CallStatus::Abandoned);
        let lead = repo::leads::get(h.store.as_ref(), &call.lead_id).await.unwrap().unwrap();
        assert_eq!((lead.status, lead.priority), (LeadStatus::RetryScheduled, Priority::Urgent));
    }
    assert_eq!(repo::pacing::get(h.store.as_ref()).await.unwrap().in_flight, 2);
}

#[tokio::test]
async fn the_longest_idle_salesperson_is_told_first_then_bridged() {
    let h = H::new().await;
    let _recent = h.salesperson(1, 10).await;
    let oldest = h.salesperson(2, 900).await;
    let _middle = h.salesperson(3, 300).await;
    let (lead, call_id) = h.placed_call(1).await;
    let decision = on_voice(&h.deps, &call_id, VoiceInput::default()).await.unwrap();
    let VoiceDecision::BridgeTo(bridge) = decision else { panic!("{decision:?}") };
    assert_eq!(bridge.salesperson_id, oldest);
    assert_eq!(bridge.caller_id, lead.phone.as_str());
    assert_eq!((bridge.timeout_secs, bridge.attempt), (15, 1));
    let kinds: Vec<_> = h.events.0.lock().unwrap().iter().map(|e| e.type_name()).collect();
    let incoming = kinds.iter().position(|k| *k == "call_incoming").unwrap();
    let bridged = kinds.iter().position(|k| *k == "call_bridged").unwrap();
    assert!(incoming < bridged, "{kinds:?}");
    let lead = repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap();
    assert_eq!(lead.status, LeadStatus::InCall);
    // A repeated voice request answers the same bridge and claims nobody else.
    let again = on_voice(&h.deps, &call_id, VoiceInput::default()).await.unwrap();
    assert_eq!(again, VoiceDecision::BridgeTo(bridge));
    assert_eq!(repo::users::available(h.store.as_ref(), 10).await.unwrap().len(), 2);
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
    let before = repo::calls::get(h.store.as_ref(), &call_id).await.unwrap().unwrap();
    let again = on_status(&h.deps, &call_id, done).await.unwrap();
    assert!(matches!(again, StatusOutcome::Finished { outcome: FinishOutcome::AlreadyFinished, .. }));
    let late = on_status(&h.deps, &call_id, StatusUpdate::new(TwilioCallStatus::Ringing)).await.unwrap();
    assert_eq!(late, StatusOutcome::Ignored { reason: IgnoreReason::Stale });
    assert_eq!(repo::calls::get(h.store.as_ref(), &call_id).await.unwrap().unwrap(), before);
    assert!(matches!(
        on_status(&h.deps, &CallId::new(), update(TwilioCallStatus::Ringing, 1)).await.unwrap(),
        StatusOutcome::UnknownCall
    ));
    let lead = repo::leads::get(h.store.as_ref(), &lead.id).await.unwrap().unwrap();
    assert_eq!(lead.status, LeadStatus::RetryScheduled);
}

#[tokio::test]
async fn each_salesperson_leg_is_stamped_when_claimed_and_released() {
    let h = H::new().await;
    let first = h.salesperson(1, 900).await;
    let second = h.salesperson(2, 300).await;
    let (_, call_id) = h.placed_call(1).await;
    let claimed_first = ms(h.now());
    let decision = on_voice(&h.deps, &call_id, VoiceInput::default()).await.unwrap();
    let VoiceDecision::BridgeTo(bridge) = decision else { panic!("{decision:?}") };
    assert_eq!(bridge.salesperson_id, first);
    let legs = repo::calls::salesperson_legs(h.store.as_ref(), &first).await.unwrap();
    assert_eq!(legs.len(), 1);
    assert_eq!((&legs[0].call_id, legs[0].claimed_at, legs[0].released_at), (&call_id, claimed_first, None));

    // The first salesperson misses it: away, their leg ends; the next one
    // is claimed.
    h.clock.advance(Duration::seconds(15));
    let missed = ms(h.now());
    let result = DialResult { dial_call_status: DialCallStatus::NoAnswer, dial_call_duration: None, attempt: Some(1) };
    let decision = on_dial_action(&h.deps, &call_id, result).await.unwrap();
    let DialDecision::BridgeTo(next) = decision else { panic!("{decision:?}") };
    assert_eq!(next.salesperson_id, second);
    assert_eq!(h.user(&first).await, (Availability::Away, None));
    let legs = repo::calls::salesperson_legs(h.store.as_ref(), &first).await.unwrap();
    assert_eq!(legs[0].released_at, Some(missed));
    let legs = repo::calls::salesperson_legs(h.store.as_ref(), &second).await.unwrap();
    assert_eq!((legs.len(), legs[0].claimed_at, legs[0].released_at), (1, missed, None));

    // The call ends while the second one is still on it: finish_call sends
    // them to wrap-up and ends their leg in the same transaction.
    h.clock.advance(Duration::seconds(40));
    let ended = ms(h.now());
    let done = StatusUpdate { duration: Some(55), ..update(TwilioCallStatus::Completed, 5) };
    let out = on_status(&h.deps, &call_id, done).await.unwrap();
    assert!(matches!(out, StatusOutcome::Finished { outcome: FinishOutcome::Finished { .. }, .. }), "{out:?}");
    assert_eq!(h.user(&second).await, (Availability::WrapUp, None));
    let legs = repo::calls::salesperson_legs(h.store.as_ref(), &second).await.unwrap();
    assert_eq!(legs[0].released_at, Some(ended));

    // A late dial result for the second leg changes nothing.
    let result =
        DialResult { dial_call_status: DialCallStatus::Completed, dial_call_duration: Some(50), attempt: Some(2) };
    on_dial_action(&h.deps, &call_id, result).await.unwrap();
    let legs = repo::calls::salesperson_legs(h.store.as_ref(), &second).await.unwrap();
    assert_eq!(legs[0].released_at, Some(ended));
}
