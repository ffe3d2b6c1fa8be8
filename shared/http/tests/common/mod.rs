//! Shared harness of the API tests: the router over in-memory adapters, a
//! clock the test controls, test doubles for telephony and blobs, and a
//! fixture with an admin, two salespeople, a lead and a connected call.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use http_body_util::BodyExt;
use ibrat_domain::{
    Availability, Call, CallStatus, Email, Event, Lead, LeadId, LeadStatus, Phone, Priority, Region, Role, User, UserId,
};
use ibrat_http::AppState;
use ibrat_local::{MemQueue, RedbStore};
use ibrat_ports::{
    BlobError, BlobStore, CallInstruction, CreateCall, EventPublisher, ManualClock, NoConnections, PlacedCall, Queue,
    RemoteCall, Telephony, TelephonyError,
};
use ibrat_services::auth::{self, jwt, password};
use ibrat_services::repo;
use ibrat_services::{Config, Deps};
use serde_json::Value;
use tower::ServiceExt;

/// The password every fixture user has.
pub const PASSWORD: &str = "correct-horse-battery";

/// The fixed instant tests start at (a Tuesday, 11:00 in Tashkent).
pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").expect("valid").with_timezone(&Utc)
}

/// One argon2 hash of [`PASSWORD`], computed once (hashing is slow).
pub fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash_blocking(PASSWORD).expect("hashes")).clone()
}

/// Telephony that accepts every call.
pub struct OkTelephony;

#[async_trait]
impl Telephony for OkTelephony {
    async fn create_call(&self, _req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        Ok(PlacedCall { sid: format!("CA{}", "0".repeat(32)), status: "queued".into() })
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

/// Blobs that hold nothing.
pub struct NoBlobs;

#[async_trait]
impl BlobStore for NoBlobs {
    async fn put(&self, _key: &str, _body: Bytes) -> Result<(), BlobError> {
        Ok(())
    }
    async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        Err(BlobError::NotFound(key.to_owned()))
    }
    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        Err(BlobError::NotFound(key.to_owned()))
    }
    async fn presign_put(&self, key: &str, _ttl: StdDuration) -> Result<String, BlobError> {
        Ok(format!("http://blobs.invalid/{key}"))
    }
    async fn renotify(&self, key: &str) -> Result<(), BlobError> {
        Err(BlobError::NotFound(key.to_owned()))
    }
    async fn put_stream(
        &self,
        _key: &str,
        _content_type: &str,
        chunks: ibrat_ports::ContentStream,
    ) -> Result<u64, BlobError> {
        let chunks: Vec<_> = futures::StreamExt::collect(chunks).await;
        Ok(chunks.into_iter().map(|c| c.map_or(0, |b| b.len() as u64)).sum())
    }
    async fn presign_get(&self, key: &str, _ttl: StdDuration, _file_name: &str) -> Result<String, BlobError> {
        Ok(format!("http://blobs.invalid/{key}"))
    }
}

/// Records every published event.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Event>>);

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

/// The system under test.
pub struct Harness {
    pub deps: Deps,
    pub clock: Arc<ManualClock>,
    pub queue: Arc<MemQueue>,
    pub events: Arc<Recorder>,
    pub app: Router,
}

impl Harness {
    /// A fresh, empty system.
    pub fn new() -> Self {
        Self::with_config(Config::for_tests())
    }

    /// A fresh system with this configuration.
    pub fn with_config(config: Config) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let store = RedbStore::in_memory().expect("store").with_clock(clock.clone());
        let queue = Arc::new(MemQueue::new());
        let events = Arc::new(Recorder::default());
        let deps = Deps {
            store: Arc::new(store),
            queue: queue.clone(),
            events: events.clone(),
            connections: Arc::new(NoConnections),
            telephony: Arc::new(OkTelephony),
            blobs: Arc::new(NoBlobs),
            clock: clock.clone(),
            config: Arc::new(config),
        };
        let app = ibrat_http::api::router(AppState::new(deps.clone()));
        Harness { deps, clock, queue, events, app }
    }

    /// Sends one request through the router.
    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.app.clone().oneshot(req).await.expect("infallible")
    }

    /// Sends a request and reads the status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let res = self.send(request(method, path, token, body)).await;
        let status = res.status();
        (status, json_body(res).await)
    }

    /// POSTs a raw `text/csv` body and reads the status and JSON body.
    pub async fn call_csv(&self, path: &str, token: Option<&str>, csv: String) -> (StatusCode, Value) {
        let mut b = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "text/csv")
            .header("content-length", csv.len());
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let res = self.send(b.body(Body::from(csv)).expect("request")).await;
        let status = res.status();
        (status, json_body(res).await)
    }

    /// A user with [`PASSWORD`], stored directly.
    pub async fn user(&self, email: &str, role: Role) -> User {
        let now = self.clock.now_utc();
        let user = User {
            id: UserId::new(),
            name: email.split('@').next().unwrap_or("user").to_owned(),
            email: Email::parse(email).expect("email"),
            phone: None,
            role,
            active: true,
            availability: Availability::Offline,
            availability_since: now,
            created_at: now,
            updated_at: now,
        };
        let rec = repo::users::UserRecord { user: user.clone(), password_hash: password_hash() };
        repo::users::create(self.deps.store.as_ref(), &rec).await.expect("user created");
        user
    }

    /// Gives salesperson `user` an open line (their phone in their room), so
    /// they may be available and routed.
    pub async fn open_line(&self, user: &User) {
        ibrat_testkit::open_line(
            self.deps.store.as_ref(),
            &user.id,
            self.clock.now_utc(),
            "CA00000000000000000000000000000a01",
        )
        .await;
    }

    /// A valid access token for `user`.
    pub fn token(&self, user: &User) -> String {
        jwt::issue(self.secret(), &user.id, user.role, self.clock.now_utc(), StdDuration::from_secs(900))
            .expect("signs")
            .0
    }

    pub fn secret(&self) -> &[u8] {
        self.deps.config.jwt_secret.expose().as_bytes()
    }

    /// A lead stored directly.
    pub async fn lead(&self, phone: &str, status: LeadStatus, salesperson: Option<&UserId>) -> Lead {
        let phone = Phone::parse(phone, Region::default()).expect("phone");
        let now = self.clock.now_utc();
        let lead = Lead {
            id: LeadId::for_phone(&phone),
            name: "Bobur".into(),
            phone,
            email: None,
            priority: Priority::Medium,
            status,
            attempts: 1,
            next_attempt_at: status.is_dialable().then_some(now),
            callback: false,
            timezone: Some("Asia/Tashkent".into()),
            notes: String::new(),
            custom: BTreeMap::new(),
            import_id: None,
            import_line: None,
            last_call_id: None,
            salesperson_id: salesperson.cloned(),
            hold_reason: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let (item, cond) = repo::leads::create_op(&lead);
        self.deps.store.put(item, cond).await.expect("lead stored");
        lead
    }

    /// A finished, connected call of `lead` taken by `salesperson`.
    pub async fn connected_call(&self, lead: &Lead, salesperson: &UserId) -> Call {
        let store = self.deps.store.as_ref();
        let call = ibrat_testkit::call(lead, CallStatus::Completed, self.clock.now_utc())
            .salesperson(salesperson)
            .store(store)
            .await;
        // It is the lead's latest call, as the dialer records it.
        let mut lead = repo::leads::get(store, &lead.id).await.expect("read").expect("the lead is stored");
        lead.last_call_id = Some(call.id.clone());
        assert!(repo::leads::save(store, &mut lead).await.expect("saved"), "the lead changed meanwhile");
        call
    }

    /// Messages waiting on the queue (taken off it).
    pub async fn drain_queue(&self) -> Vec<String> {
        let got = self.queue.receive(100, StdDuration::ZERO, StdDuration::from_secs(60)).await.expect("receive");
        for m in &got {
            self.queue.delete(&m.receipt).await.expect("delete");
        }
        got.into_iter().map(|m| m.body).collect()
    }

    /// A session (access + refresh) for `user`, as login would give.
    pub async fn session(&self, user: &User) -> auth::Session {
        auth::issue_session(&self.deps, user.clone()).await.expect("session")
    }
}

/// Reads the clock as a plain instant.
pub trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        ibrat_ports::Clock::now(self)
    }
}

/// Builds a request with an optional bearer token and JSON body.
pub fn request(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    match body {
        Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())).expect("request"),
        None => b.body(Body::empty()).expect("request"),
    }
}

/// The JSON body of a response (Null when empty, a string when not JSON).
pub async fn json_body(res: Response<Body>) -> Value {
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}
