//! The Twilio webhook routes through the axum router, over local adapters,
//! fed Twilio's real parameter sets and signatures computed as Twilio
//! computes them (HMAC-SHA1 over the full URL and the sorted parameters).
//! Calls are placed by the real dialer first, so the state they act on is
//! exactly what production has.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use ibrat_domain::{
    AgentSession, Availability, CallId, CallOutcome, CallStatus, Email, Event, EventKind, Lead, LeadId, LeadStatus,
    LineState, MachineAction, Phone, Priority, Region, Role, SessionEndReason, Settings, User, UserId,
};
use ibrat_http::AppState;
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, Clock, CreateCall, EventPublisher, Item, ManualClock, NoConnections, PlacedCall, Queue,
    QueueError, ReceivedMessage, RemoteCall, Store, Telephony, TelephonyError,
};
use ibrat_services::dialing::{dial, DialOutcome};
use ibrat_services::messages::QueueMessage;
use ibrat_services::repo::{self, keys};
use ibrat_services::{Config, Deps};
use tower::ServiceExt;

const PUBLIC: &str = "https://hooks.example.com";
const TOKEN: &str = "test-auth-token";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const OUR_NUMBER: &str = "+998712000000";

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// ---------------------------------------------------------------- doubles

/// Accepts every call, numbering the SIDs.
struct Tel(AtomicU64);

impl Telephony for Tel {
    fn create_call<'a, 'b, 't>(&'a self, _req: &'b CreateCall) -> BoxFut<'t, Result<PlacedCall, TelephonyError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async move {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(PlacedCall { sid: format!("CA{n:032x}"), status: "queued".into() })
        })
    }
    fn fetch_call<'a, 'b, 't>(&'a self, _sid: &'b str) -> BoxFut<'t, Result<RemoteCall, TelephonyError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async { Err(TelephonyError::NotFound) })
    }
    fn end_call<'a, 'b, 't>(&'a self, _sid: &'b str) -> BoxFut<'t, Result<(), TelephonyError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async { Ok(()) })
    }
    fn update_call<'a, 'b, 'c, 't>(
        &'a self,
        _sid: &'b str,
        _instruction: &'c CallInstruction,
    ) -> BoxFut<'t, Result<(), TelephonyError>>
    where
        'a: 't,
        'b: 't,
        'c: 't,
        Self: 't,
    {
        Box::pin(async { Ok(()) })
    }
    fn list_calls_to<'a, 'b, 't>(
        &'a self,
        _to: &'b str,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> BoxFut<'t, Result<Vec<RemoteCall>, TelephonyError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Records every event, in order.
#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

impl EventPublisher for Events {
    fn publish<'a, 't>(&'a self, event: Event) -> BoxFut<'t, ()>
    where
        'a: 't,
        Self: 't,
    {
        Box::pin(async move { self.0.lock().unwrap().push(event) })
    }
}

/// A `MemQueue` that also records what was sent and with which delay.
#[derive(Default)]
struct Recorded {
    inner: MemQueue,
    sent: Mutex<Vec<(String, StdDuration)>>,
}

impl Queue for Recorded {
    fn send<'a, 'b, 't>(&'a self, body: &'b str, delay: StdDuration) -> BoxFut<'t, Result<(), QueueError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async move {
            self.sent.lock().unwrap().push((body.to_owned(), delay));
            self.inner.send(body, delay).await
        })
    }
    fn send_batch<'a, 'b, 't>(&'a self, bodies: &'b [String]) -> BoxFut<'t, Result<(), QueueError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(async move {
            self.sent.lock().unwrap().extend(bodies.iter().map(|b| (b.clone(), StdDuration::ZERO)));
            self.inner.send_batch(bodies).await
        })
    }
    fn receive<'a, 't>(
        &'a self,
        max: usize,
        wait: StdDuration,
        visibility: StdDuration,
    ) -> BoxFut<'t, Result<Vec<ReceivedMessage>, QueueError>>
    where
        'a: 't,
        Self: 't,
    {
        Box::pin(self.inner.receive(max, wait, visibility))
    }
    fn delete<'a, 'b, 't>(&'a self, receipt: &'b str) -> BoxFut<'t, Result<(), QueueError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(self.inner.delete(receipt))
    }
    fn release<'a, 'b, 't>(&'a self, receipt: &'b str, visibility: StdDuration) -> BoxFut<'t, Result<(), QueueError>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        Box::pin(self.inner.release(receipt, visibility))
    }
}

// ---------------------------------------------------------------- harness

struct H {
    app: Router,
    deps: Deps,
    store: Arc<RedbStore>,
    queue: Arc<Recorded>,
    events: Arc<Events>,
}

fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

/// A placed call as Twilio knows it.
#[derive(Clone)]
struct Placed {
    call_id: CallId,
    sid: String,
    lead: Lead,
}

impl H {
    async fn new() -> H {
        H::with_settings(|_| {}).await
    }

    async fn with_settings(edit: impl FnOnce(&mut Settings)) -> H {
        // Tuesday 11:00 in Tashkent: inside the default calling window.
        let at = DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").unwrap().with_timezone(&Utc);
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at));
        let store = Arc::new(RedbStore::in_memory().unwrap().with_clock(clock.clone()));
        let queue = Arc::new(Recorded::default());
        let events = Arc::new(Events::default());
        let mut config = Config::for_tests();
        config.public_url = PUBLIC.into();
        config.twilio_from = OUR_NUMBER.into();
        let deps = Deps {
            store: store.clone(),
            queue: queue.clone(),
            events: events.clone(),
            connections: Arc::new(NoConnections),
            telephony: Arc::new(Tel(AtomicU64::new(1))),
            blobs: Arc::new(FsBlobStore::new(std::env::temp_dir().join("ibrat-twilio-tests"), "http://127.0.0.1/")),
            clock,
            config: Arc::new(config),
        };
        let mut s = Settings::default();
        s.pacing.calls_per_second = 100;
        s.company_name = "Ibrat Academy".into();
        edit(&mut s);
        s.validate().unwrap();
        repo::settings::put(store.as_ref(), &s).await.unwrap();
        let app = ibrat_http::twilio::router().with_state(AppState::new(deps.clone()));
        H { app, deps, store, queue, events }
    }

    fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    /// An available salesperson on an open line (their leg `agent_sid(n)`
    /// in their room), idle for `idle_secs`.
    async fn salesperson(&self, n: u32, idle_secs: i64) -> UserId {
        let id = self.salesperson_off_line(n, idle_secs).await;
        let mut session = AgentSession::connecting(id.clone(), ms(self.now() - Duration::seconds(idle_secs + 5)));
        session.line = LineState::Up;
        session.line_up_at = Some(ms(self.now() - Duration::seconds(idle_secs)));
        session.agent_call_sid = Some(agent_sid(n));
        self.store.put(repo::sessions::to_item(&session), None).await.unwrap();
        id
    }

    /// A salesperson with a phone and no open line.
    async fn salesperson_off_line(&self, n: u32, idle_secs: i64) -> UserId {
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

    /// A lead dialed by the real dialer.
    async fn placed(&self, n: u32) -> Placed {
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
            notes: "asked about evening classes".into(),
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
            DialOutcome::Placed { call_id, sid } => Placed { call_id, sid, lead },
            other => panic!("not placed: {other:?}"),
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, String, Option<String>) {
        let res: Response<Body> = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap(), ctype)
    }

    async fn call_item(&self, id: &CallId) -> Item {
        self.store.get(&keys::call(id)).await.unwrap().unwrap()
    }

    async fn call(&self, id: &CallId) -> ibrat_domain::Call {
        repo::calls::get(self.store.as_ref(), id).await.unwrap().unwrap()
    }

    async fn lead(&self, id: &LeadId) -> Lead {
        repo::leads::get(self.store.as_ref(), id).await.unwrap().unwrap()
    }

    async fn user(&self, id: &UserId) -> (Availability, Option<String>) {
        let item = self.store.get(&keys::user(id)).await.unwrap().unwrap();
        (Availability::parse(item.s("availability").unwrap()).unwrap(), item.s("current_call_id").map(str::to_owned))
    }

    async fn stats(&self) -> repo::stats::DailyStats {
        let day = keys::day(self.now());
        repo::stats::get_days(self.store.as_ref(), &[day]).await.unwrap().remove(0)
    }

    async fn in_flight(&self) -> i64 {
        repo::pacing::get(self.store.as_ref()).await.unwrap().in_flight
    }

    fn event_types(&self) -> Vec<&'static str> {
        self.events.0.lock().unwrap().iter().map(|e| e.type_name()).collect()
    }

    fn sent(&self) -> Vec<(QueueMessage, StdDuration)> {
        self.queue.sent.lock().unwrap().iter().map(|(b, d)| (QueueMessage::parse(b).unwrap(), *d)).collect()
    }
}

// ---------------------------------------------------------------- Twilio's requests

/// The parameters every Twilio voice callback for an outbound API call
/// carries (as logged from real requests; geographic fields included).
fn base_params(p: &Placed, call_status: &str) -> Vec<(String, String)> {
    let to = p.lead.phone.as_str();
    [
        ("AccountSid", ACCOUNT),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", p.sid.as_str()),
        ("CallStatus", call_status),
        ("Called", to),
        ("CalledCity", ""),
        ("CalledCountry", "UZ"),
        ("CalledState", ""),
        ("CalledZip", ""),
        ("Caller", OUR_NUMBER),
        ("CallerCity", "TASHKENT"),
        ("CallerCountry", "UZ"),
        ("CallerState", ""),
        ("CallerZip", ""),
        ("Direction", "outbound-api"),
        ("From", OUR_NUMBER),
        ("FromCity", "TASHKENT"),
        ("FromCountry", "UZ"),
        ("FromState", ""),
        ("FromZip", ""),
        ("To", to),
        ("ToCity", ""),
        ("ToCountry", "UZ"),
        ("ToState", ""),
        ("ToZip", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn with(mut params: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    params.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    params
}

/// A status callback (`StatusCallbackEvent` initiated/ringing/answered/completed).
fn status_params(p: &Placed, call_status: &str, seq: u32, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let seq = seq.to_string();
    let mut params = with(
        base_params(p, call_status),
        &[
            ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", seq.as_str()),
            ("Timestamp", "Tue, 24 Nov 2026 06:00:05 +0000"),
        ],
    );
    params.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    params
}

/// The voice request after synchronous answering-machine detection.
fn voice_params(p: &Placed, answered_by: &str) -> Vec<(String, String)> {
    with(base_params(p, "in-progress"), &[("AnsweredBy", answered_by), ("MachineDetectionDuration", "2350")])
}

/// The leg SID of salesperson `n`'s line.
fn agent_sid(n: u32) -> String {
    format!("CA{:032x}", 0xa000 + n)
}

/// A conference status callback as Twilio sends it (`participant-join`,
/// `participant-leave`, `conference-start`, `conference-end`).
fn conference_params(room: &str, event: &str, call_sid: Option<&str>, seq: u32) -> Vec<(String, String)> {
    let seq = seq.to_string();
    let mut params: Vec<(String, String)> = [
        ("AccountSid", ACCOUNT),
        ("ConferenceSid", "CF0123456789abcdef0123456789abcdef"),
        ("FriendlyName", room),
        ("SequenceNumber", seq.as_str()),
        ("StatusCallbackEvent", event),
        ("Timestamp", "Tue, 24 Nov 2026 06:00:06 +0000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(sid) = call_sid {
        for (k, v) in [
            ("CallSid", sid),
            ("Coaching", "false"),
            ("EndConferenceOnExit", "false"),
            ("Hold", "false"),
            ("Muted", "false"),
            ("StartConferenceOnEnter", "true"),
        ] {
            params.push((k.to_owned(), v.to_owned()));
        }
    }
    params
}

/// The room a TwiML answer puts the call in, with the conference's
/// attributes.
fn room_of(twiml: &str) -> Option<(String, String)> {
    let open = twiml.find("<Conference")?;
    let close = twiml[open..].find('>')? + open;
    let end = twiml[close..].find("</Conference>")? + close;
    Some((twiml[open..close].to_owned(), twiml[close + 1..end].trim().to_owned()))
}

/// A POST exactly as Twilio sends it, signed over `url` with `token`.
fn signed_with(url_signed: &str, path_and_query: &str, params: &[(String, String)], token: &str) -> Request<Body> {
    let signature = ibrat_twilio::signature::compute_signature(token, url_signed, params);
    let body = serde_urlencoded::to_string(params).unwrap();
    Request::post(path_and_query)
        .header("host", "hooks.example.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "TwilioProxy/1.1")
        .header("i-twilio-idempotency-token", "6d2a3d2b-2c3f-4c58-9b53-3d3e8d1e2f10")
        .header("x-twilio-signature", signature)
        .body(Body::from(body))
        .unwrap()
}

fn signed(path_and_query: &str, params: &[(String, String)]) -> Request<Body> {
    signed_with(&format!("{PUBLIC}{path_and_query}"), path_and_query, params, TOKEN)
}

fn voice_url(p: &Placed) -> String {
    format!("/twilio/voice?call_id={}", p.call_id)
}

fn status_url(p: &Placed) -> String {
    format!("/twilio/status?call_id={}", p.call_id)
}

const CONFERENCE_URL: &str = "/twilio/conference";

async fn ring(h: &H, p: &Placed) {
    for (seq, st) in [(0, "initiated"), (1, "ringing")] {
        let (code, _, _) = h.send(signed(&status_url(p), &status_params(p, st, seq, &[]))).await;
        assert_eq!(code, StatusCode::NO_CONTENT);
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn unsigned_or_forged_requests_are_refused_and_change_nothing() {
    let h = H::new().await;
    let sp = h.salesperson(1, 600).await;
    let p = h.placed(1).await;
    let before_call = h.call_item(&p.call_id).await;
    let before_lead = h.lead(&p.lead.id).await;
    let events_before = h.event_types().len();
    let params = voice_params(&p, "human");

    // No signature at all.
    let mut req = signed(&voice_url(&p), &params);
    req.headers_mut().remove("x-twilio-signature");
    assert_eq!(h.send(req).await.0, StatusCode::FORBIDDEN);
    // A signature from another token.
    let req = signed_with(&format!("{PUBLIC}{}", voice_url(&p)), &voice_url(&p), &params, "not-the-token");
    assert_eq!(h.send(req).await.0, StatusCode::FORBIDDEN);
    // Signed for another URL (another call) and replayed here.
    let other = format!("{PUBLIC}/twilio/voice?call_id={}", CallId::new());
    assert_eq!(h.send(signed_with(&other, &voice_url(&p), &params, TOKEN)).await.0, StatusCode::FORBIDDEN);
    // A parameter changed after signing.
    let mut req = signed(&voice_url(&p), &params);
    let tampered = serde_urlencoded::to_string(with(params.clone(), &[("AnsweredBy", "machine_start")])).unwrap();
    *req.body_mut() = Body::from(tampered);
    assert_eq!(h.send(req).await.0, StatusCode::FORBIDDEN);
    // Status, conference and agent routes check too.
    let mut req = signed(&status_url(&p), &status_params(&p, "completed", 4, &[("CallDuration", "30")]));
    req.headers_mut().insert("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=".parse().unwrap());
    assert_eq!(h.send(req).await.0, StatusCode::FORBIDDEN);
    let leave = conference_params(&format!("agent-{sp}"), "participant-leave", Some(&agent_sid(1)), 3);
    let req = signed_with(&format!("{PUBLIC}/x"), CONFERENCE_URL, &leave, TOKEN);
    assert_eq!(h.send(req).await.0, StatusCode::FORBIDDEN);
    let agent = format!("/twilio/agent-status?user_id={sp}&session=1");
    let mut req = signed(&agent, &base_params(&p, "completed"));
    req.headers_mut().remove("x-twilio-signature");
    assert_eq!(h.send(req).await.0, StatusCode::FORBIDDEN);

    assert_eq!(h.call_item(&p.call_id).await, before_call);
    assert_eq!(h.lead(&p.lead.id).await, before_lead);
    assert_eq!(h.user(&sp).await, (Availability::Available, None));
    assert_eq!(h.event_types().len(), events_before);
}

#[tokio::test]
async fn signatures_over_the_url_with_an_explicit_port_are_accepted() {
    let h = H::new().await;
    let p = h.placed(1).await;
    let path = status_url(&p);
    let url = format!("https://hooks.example.com:443{path}");
    let (code, _, _) = h.send(signed_with(&url, &path, &status_params(&p, "ringing", 1, &[]), TOKEN)).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(h.call(&p.call_id).await.status, CallStatus::Ringing);
}

#[tokio::test]
async fn duplicates_and_late_callbacks_change_nothing() {
    let h = H::new().await;
    let p = h.placed(1).await;
    ring(&h, &p).await;
    assert_eq!(h.call(&p.call_id).await.status, CallStatus::Ringing);
    assert_eq!(h.lead(&p.lead.id).await.status, LeadStatus::Ringing);
    // Duplicate ringing: acknowledged, nothing written.
    let ringing = h.call_item(&p.call_id).await;
    let (code, _, _) = h.send(signed(&status_url(&p), &status_params(&p, "ringing", 1, &[]))).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(h.call_item(&p.call_id).await, ringing);

    let busy = status_params(&p, "busy", 2, &[("CallDuration", "0"), ("SipResponseCode", "486")]);
    assert_eq!(h.send(signed(&status_url(&p), &busy)).await.0, StatusCode::NO_CONTENT);
    let call = h.call(&p.call_id).await;
    assert_eq!((call.status, call.outcome), (CallStatus::Busy, Some(CallOutcome::Busy)));
    let finished = h.call_item(&p.call_id).await;
    let lead = h.lead(&p.lead.id).await;
    assert_eq!(lead.status, LeadStatus::RetryScheduled);

    // The same final status again, then a late ringing and a late initiated.
    assert_eq!(h.send(signed(&status_url(&p), &busy)).await.0, StatusCode::NO_CONTENT);
    for (seq, st) in [(1, "ringing"), (0, "initiated")] {
        let (code, _, _) = h.send(signed(&status_url(&p), &status_params(&p, st, seq, &[]))).await;
        assert_eq!(code, StatusCode::NO_CONTENT);
    }
    // Late ringing without a sequence number: the lifecycle refuses it too.
    let mut late = status_params(&p, "ringing", 0, &[]);
    late.retain(|(k, _)| k != "SequenceNumber");
    assert_eq!(h.send(signed(&status_url(&p), &late)).await.0, StatusCode::NO_CONTENT);

    assert_eq!(h.call_item(&p.call_id).await, finished);
    assert_eq!(h.lead(&p.lead.id).await, lead);
    let stats = h.stats().await;
    assert_eq!((stats.calls, stats.busy), (1, 1));
    assert_eq!(h.in_flight().await, 0);
}

#[tokio::test]
async fn a_person_joins_the_longest_idle_salespersons_room_after_the_screen_pop() {
    let h = H::new().await;
    let _fresh = h.salesperson(1, 5).await;
    let idle = h.salesperson(2, 1200).await;
    let _mid = h.salesperson(3, 400).await;
    let _no_line = h.salesperson_off_line(4, 5000).await;
    let p = h.placed(1).await;
    ring(&h, &p).await;
    let (code, body, ctype) = h.send(signed(&voice_url(&p), &voice_params(&p, "human"))).await;
    assert_eq!(code, StatusCode::OK);
    assert!(ctype.unwrap().starts_with("text/xml"));
    let (attrs, room) = room_of(&body).unwrap_or_else(|| panic!("no <Conference>: {body}"));
    assert_eq!(room, format!("agent-{idle}"));
    for want in [
        r#"startConferenceOnEnter="true""#,
        r#"endConferenceOnExit="false""#,
        r#"beep="false""#,
        r#"statusCallbackEvent="join leave""#,
    ] {
        assert!(attrs.contains(want), "{want} in {attrs}");
    }
    assert!(attrs.contains(&format!(r#"statusCallback="{PUBLIC}/twilio/conference""#)), "{attrs}");

    assert_eq!(h.user(&idle).await, (Availability::OnCall, Some(p.call_id.to_string())));
    let call = h.call(&p.call_id).await;
    assert_eq!((call.status, call.salesperson_id.clone()), (CallStatus::Bridged, Some(idle.clone())));
    assert_eq!(call.answered_by, Some(ibrat_domain::AnsweredBy::Human));
    assert!(call.answered_at.is_some() && call.connected_at.is_none());
    assert_eq!(h.lead(&p.lead.id).await.status, LeadStatus::InCall);
    let links = h.store.query(&ibrat_ports::Query::partition(keys::agent_calls_pk(&idle))).await.unwrap();
    assert_eq!(links.items.len(), 1);

    let events = h.events.0.lock().unwrap().clone();
    let incoming = events.iter().position(|e| matches!(&e.kind, EventKind::CallIncoming { salesperson_id, lead_name, notes, .. } if *salesperson_id == idle && lead_name == "Lead 1" && notes == "asked about evening classes")).expect("CallIncoming sent");
    let bridged = events.iter().position(|e| matches!(e.kind, EventKind::CallBridged { .. })).unwrap();
    assert!(incoming < bridged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_answers_at_once_with_one_salesperson_free_bridge_one_and_abandon_the_other() {
    let h = H::new().await;
    let sp = h.salesperson(1, 300).await;
    let a = h.placed(1).await;
    let b = h.placed(2).await;
    ring(&h, &a).await;
    ring(&h, &b).await;
    let (ra, rb) = tokio::join!(
        h.app.clone().oneshot(signed(&voice_url(&a), &voice_params(&a, "human"))),
        h.app.clone().oneshot(signed(&voice_url(&b), &voice_params(&b, "human"))),
    );
    let mut bodies = Vec::new();
    for res in [ra.unwrap(), rb.unwrap()] {
        assert_eq!(res.status(), StatusCode::OK);
        bodies.push(String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap());
    }
    let dialed: Vec<_> = bodies.iter().filter(|b| b.contains("<Conference")).collect();
    let abandoned: Vec<_> = bodies.iter().filter(|b| b.contains("<Say") && b.contains("<Hangup")).collect();
    assert_eq!((dialed.len(), abandoned.len()), (1, 1), "{bodies:?}");
    assert!(abandoned[0].contains("Ibrat Academy") && abandoned[0].contains(OUR_NUMBER), "{}", abandoned[0]);

    let (winner, loser) = if bodies[0].contains("<Conference") { (&a, &b) } else { (&b, &a) };
    assert_eq!(h.user(&sp).await, (Availability::OnCall, Some(winner.call_id.to_string())));
    assert_eq!(h.call(&winner.call_id).await.status, CallStatus::Bridged);
    let lost = h.call(&loser.call_id).await;
    assert_eq!((lost.status, lost.outcome), (CallStatus::Abandoned, Some(CallOutcome::Abandoned)));
    let lead = h.lead(&loser.lead.id).await;
    assert_eq!((lead.status, lead.priority), (LeadStatus::RetryScheduled, Priority::Urgent));
    assert!(lead.next_attempt_at.unwrap() <= h.now() + Duration::minutes(5));
    assert_eq!(lost.safe_harbor_at, Some(ms(h.now())));
    assert_eq!(h.stats().await.abandoned, 1);
}

#[tokio::test]
async fn a_machine_is_hung_up_on_and_its_retry_scheduled() {
    let h = H::new().await;
    let sp = h.salesperson(1, 300).await;
    let p = h.placed(1).await;
    ring(&h, &p).await;
    let (code, body, _) = h.send(signed(&voice_url(&p), &voice_params(&p, "machine_end_beep"))).await;
    assert_eq!(code, StatusCode::OK);
    assert!(body.contains("<Hangup") && !body.contains("<Dial") && !body.contains("<Say"), "{body}");
    let call = h.call(&p.call_id).await;
    assert_eq!((call.status, call.answered_by), (CallStatus::Machine, Some(ibrat_domain::AnsweredBy::Machine)));
    let lead = h.lead(&p.lead.id).await;
    assert_eq!(lead.status, LeadStatus::RetryScheduled);
    assert!(lead.next_attempt_at.unwrap() > h.now());
    assert_eq!(h.user(&sp).await.0, Availability::Available, "nobody is claimed for a machine");
    assert_eq!(h.in_flight().await, 0);
    assert!(h.sent().iter().any(|(m, _)| *m == QueueMessage::Nudge));
    // Twilio's final status afterwards is a duplicate.
    let done = status_params(&p, "completed", 3, &[("CallDuration", "24"), ("AnsweredBy", "machine_end_beep")]);
    assert_eq!(h.send(signed(&status_url(&p), &done)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.stats().await.machine, 1);
}

#[tokio::test]
async fn a_voicemail_is_left_when_configured() {
    let message = "Hello from Ibrat Academy, we will call you back.";
    let h = H::with_settings(|s| s.machine_action = MachineAction::Voicemail { message: message.into() }).await;
    let p = h.placed(1).await;
    let (_, body, _) = h.send(signed(&voice_url(&p), &voice_params(&p, "machine_end_silence"))).await;
    assert!(body.contains(message) && body.contains("<Hangup"), "{body}");
}

#[tokio::test]
async fn a_salesperson_line_comes_up_through_its_callbacks() {
    let h = H::new().await;
    let sp = h.salesperson_off_line(1, 300).await;
    let actor = ibrat_services::auth::Actor { id: sp.clone(), role: Role::Salesperson };
    // Away (as one is with no line) when the session starts.
    ibrat_services::users::set_availability(&h.deps, &actor, &sp, Availability::Away).await.unwrap();
    ibrat_services::sessions::start(&h.deps, &actor).await.unwrap();
    let session = repo::sessions::get(h.store.as_ref(), &sp).await.unwrap().unwrap();
    let sid = session.agent_call_sid.clone().unwrap();
    let tag = format!("user_id={sp}&session={}", session.started_at.timestamp_millis());
    let leg = Placed { call_id: CallId::new(), sid: sid.clone(), lead: h.placed(9).await.lead };
    // Their phone answers: Twilio requests the agent URL with the voice
    // request's usual parameters.
    let (code, body, _) = h.send(signed(&format!("/twilio/agent?{tag}"), &base_params(&leg, "in-progress"))).await;
    assert_eq!(code, StatusCode::OK);
    let (attrs, room) = room_of(&body).unwrap_or_else(|| panic!("no <Conference>: {body}"));
    assert_eq!(room, format!("agent-{sp}"));
    for want in [
        r#"startConferenceOnEnter="true""#,
        r#"endConferenceOnExit="true""#,
        r#"beep="false""#,
        r#"waitUrl="""#,
        r#"statusCallbackEvent="start end join leave""#,
    ] {
        assert!(attrs.contains(want), "{want} in {attrs}");
    }
    assert_eq!(h.user(&sp).await.0, Availability::Away, "not ready before the join");
    let room_name = format!("agent-{sp}");
    for (seq, event, call) in [(0, "conference-start", None), (1, "participant-join", Some(sid.as_str()))] {
        let (code, _, _) = h.send(signed(CONFERENCE_URL, &conference_params(&room_name, event, call, seq))).await;
        assert_eq!(code, StatusCode::NO_CONTENT);
    }
    assert_eq!(h.user(&sp).await.0, Availability::Available);
    // They hang up: the leave, then their leg's final status (a duplicate).
    let leave = conference_params(&room_name, "participant-leave", Some(&sid), 2);
    assert_eq!(h.send(signed(CONFERENCE_URL, &leave)).await.0, StatusCode::NO_CONTENT);
    let done = with(base_params(&leg, "completed"), &[("CallDuration", "600"), ("SequenceNumber", "3")]);
    assert_eq!(h.send(signed(&format!("/twilio/agent-status?{tag}"), &done)).await.0, StatusCode::NO_CONTENT);
    let session = repo::sessions::get(h.store.as_ref(), &sp).await.unwrap().unwrap();
    assert_eq!((session.line, session.ended_reason), (LineState::Ended, Some(SessionEndReason::AgentHungUp)));
    assert_eq!(h.user(&sp).await.0, Availability::Away);
    // Malformed session references are refused.
    for path in ["/twilio/agent?user_id=nope&session=1", "/twilio/agent-status", "/twilio/agent?session=1"] {
        let (code, _, _) = h.send(signed(path, &base_params(&leg, "in-progress"))).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{path}");
    }
}

#[tokio::test]
async fn a_conversation_is_connected_by_the_join_and_ends_with_the_leave() {
    let h = H::new().await;
    let sp = h.salesperson(1, 300).await;
    let p = h.placed(1).await;
    ring(&h, &p).await;
    let answered = status_params(&p, "in-progress", 2, &[]);
    assert_eq!(h.send(signed(&status_url(&p), &answered)).await.0, StatusCode::NO_CONTENT);
    let (_, body, _) = h.send(signed(&voice_url(&p), &voice_params(&p, "human"))).await;
    assert!(room_of(&body).is_some(), "{body}");
    assert_eq!(h.call(&p.call_id).await.connected_at, None, "routed is not connected");

    let room = format!("agent-{sp}");
    let join = conference_params(&room, "participant-join", Some(&p.sid), 4);
    assert_eq!(h.send(signed(CONFERENCE_URL, &join)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.send(signed(CONFERENCE_URL, &join)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.call(&p.call_id).await.connected_at, Some(ms(h.now())));
    assert_eq!(h.event_types().iter().filter(|t| **t == "call_connected").count(), 1);

    let leave = conference_params(&room, "participant-leave", Some(&p.sid), 5);
    assert_eq!(h.send(signed(CONFERENCE_URL, &leave)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.user(&sp).await, (Availability::WrapUp, None));
    let wrap: Vec<_> = h.sent().into_iter().filter(|(m, _)| matches!(m, QueueMessage::WrapUpEnd { .. })).collect();
    assert_eq!(wrap.len(), 1);
    assert_eq!(wrap[0].1, StdDuration::from_secs(10));
    // The duplicate leave and the final status change nothing more.
    h.send(signed(CONFERENCE_URL, &leave)).await;
    let done = status_params(&p, "completed", 6, &[("CallDuration", "101")]);
    assert_eq!(h.send(signed(&status_url(&p), &done)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.sent().iter().filter(|(m, _)| matches!(m, QueueMessage::WrapUpEnd { .. })).count(), 1);

    let call = h.call(&p.call_id).await;
    assert_eq!((call.status, call.outcome), (CallStatus::Completed, Some(CallOutcome::Connected)));
    assert!(call.ended_at.is_some() && call.bridged_at.is_some());
    let lead = h.lead(&p.lead.id).await;
    assert_eq!((lead.status, lead.salesperson_id), (LeadStatus::Completed, Some(sp.clone())));
    let stats = h.stats().await;
    assert_eq!((stats.calls, stats.connected), (1, 1));
    assert_eq!(h.in_flight().await, 0);
    assert!(h.event_types().contains(&"call_completed"));
    // A room that is not one of ours, and room-level events, are acknowledged.
    for params in [
        conference_params("someone-else", "participant-join", Some(&p.sid), 7),
        conference_params(&room, "conference-end", None, 8),
    ] {
        assert_eq!(h.send(signed(CONFERENCE_URL, &params)).await.0, StatusCode::NO_CONTENT);
    }
    let mut nameless = conference_params(&room, "participant-join", Some(&p.sid), 9);
    nameless.retain(|(k, _)| k != "FriendlyName");
    assert_eq!(h.send(signed(CONFERENCE_URL, &nameless)).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_calls_and_bad_call_ids() {
    let h = H::new().await;
    let p = h.placed(1).await;
    let ghost = Placed { call_id: CallId::new(), ..p.clone() };
    let (code, body, ctype) = h.send(signed(&voice_url(&ghost), &voice_params(&ghost, "human"))).await;
    assert_eq!(code, StatusCode::OK);
    assert!(ctype.unwrap().starts_with("text/xml") && body.contains("<Hangup"), "{body}");
    let (code, _, _) = h.send(signed(&status_url(&ghost), &status_params(&ghost, "ringing", 1, &[]))).await;
    assert_eq!(code, StatusCode::OK);
    // A voice request for the call under another CallSid is hung up.
    let stranger = Placed { sid: "CAffffffffffffffffffffffffffffff99".into(), ..p.clone() };
    let (code, body, _) = h.send(signed(&voice_url(&stranger), &voice_params(&stranger, "human"))).await;
    assert_eq!(code, StatusCode::OK);
    assert!(body.contains("<Hangup") && !body.contains("<Conference"), "{body}");

    for path in ["/twilio/voice?call_id=not-a-call", "/twilio/voice", "/twilio/status?call_id=%FF%FE"] {
        let (code, _, _) = h.send(signed(path, &voice_params(&p, "human"))).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{path}");
    }
    let mut no_status = status_params(&p, "ringing", 1, &[]);
    no_status.retain(|(k, _)| k != "CallStatus");
    assert_eq!(h.send(signed(&status_url(&p), &no_status)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(h.call(&p.call_id).await.status, CallStatus::Created);
}
