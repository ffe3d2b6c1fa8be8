//! The ws handler on API Gateway WebSocket event JSON (fixtures shaped as
//! API Gateway sends them), over local adapters and a management API fake
//! that records posts and can answer 410 Gone.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{Availability, Email, Role, User, UserId};
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, Clock, ConnectionSender, CreateCall, ManualClock, PlacedCall, PostError, RemoteCall, Telephony,
    TelephonyError,
};
use ibrat_services::auth::jwt;
use ibrat_services::realtime::{connections, Fanout};
use ibrat_services::{repo, Config, Deps};
use serde_json::{json, Value};

const CONNECTION: &str = "Cc0mLdBTliACFxg=";

/// API Gateway's management API: records posts; connections listed in
/// `gone` answer 410.
#[derive(Default)]
struct FakeManagementApi {
    posts: Mutex<Vec<(String, Value)>>,
    closed: Mutex<Vec<String>>,
    gone: Mutex<HashSet<String>>,
}

impl FakeManagementApi {
    fn posted_to(&self, connection_id: &str) -> Vec<Value> {
        let posts = self.posts.lock().unwrap();
        posts.iter().filter(|(id, _)| id == connection_id).map(|(_, v)| v.clone()).collect()
    }

    fn last_reply(&self, connection_id: &str) -> Value {
        let replies: Vec<Value> =
            self.posted_to(connection_id).into_iter().filter(|v| v["type"] == "ack" || v["type"] == "error").collect();
        replies.last().cloned().expect("a reply was posted")
    }
}

#[async_trait]
impl ConnectionSender for FakeManagementApi {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<(), PostError> {
        if self.gone.lock().unwrap().contains(connection_id) {
            return Err(PostError::Gone);
        }
        let v = serde_json::from_slice(payload).map_err(|e| PostError::Failed(e.to_string()))?;
        self.posts.lock().unwrap().push((connection_id.to_owned(), v));
        Ok(())
    }

    async fn close(&self, connection_id: &str) {
        self.closed.lock().unwrap().push(connection_id.to_owned());
    }
}

/// Telephony is never reached from the WebSocket.
struct NoTelephony;

#[async_trait]
impl Telephony for NoTelephony {
    async fn create_call(&self, _req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        Err(TelephonyError::NotFound)
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

struct World {
    deps: Deps,
    clock: Arc<ManualClock>,
    api: Arc<FakeManagementApi>,
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").unwrap().with_timezone(&Utc)
}

fn world() -> World {
    let clock = Arc::new(ManualClock::new(start()));
    let store: Arc<dyn ibrat_ports::Store> = Arc::new(RedbStore::in_memory().unwrap().with_clock(clock.clone()));
    let api = Arc::new(FakeManagementApi::default());
    let deps = Deps {
        store: store.clone(),
        queue: Arc::new(MemQueue::new()),
        events: Arc::new(Fanout::new(store, api.clone()).with_clock(clock.clone())),
        connections: api.clone(),
        telephony: Arc::new(NoTelephony),
        blobs: Arc::new(FsBlobStore::new(std::env::temp_dir().join("ibrat-fn-ws"), "http://127.0.0.1/")),
        clock: clock.clone(),
        config: Arc::new(Config::for_tests()),
    };
    World { deps, clock, api }
}

impl World {
    /// A user and their token; a salesperson is on an open line.
    async fn user(&self, email: &str, role: Role) -> (User, String) {
        let now = self.clock.now();
        let user = User {
            id: UserId::new(),
            name: email.split('@').next().unwrap().to_owned(),
            email: Email::parse(email).unwrap(),
            phone: None,
            role,
            active: true,
            availability: Availability::Offline,
            availability_since: now,
            created_at: now,
            updated_at: now,
        };
        let rec = repo::users::UserRecord { user: user.clone(), password_hash: "$argon2id$unused".into() };
        repo::users::create(self.deps.store.as_ref(), &rec).await.unwrap();
        if role == Role::Salesperson {
            // On an open line, so they may be ready.
            ibrat_testkit::open_line(self.deps.store.as_ref(), &user.id, now, "CA00000000000000000000000000000a01")
                .await;
        }
        let secret = self.deps.config.jwt_secret.expose().as_bytes();
        let token = jwt::issue(secret, &user.id, role, now, StdDuration::from_secs(900)).unwrap().0;
        (user, token)
    }

    async fn handle(&self, event: Value) -> ApiGatewayProxyResponse {
        let event: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event).expect("API Gateway's shape");
        fn_ws::handle(&self.deps, self.api.as_ref(), event).await
    }

    async fn connect_as(&self, connection_id: &str, token: &str) -> ApiGatewayProxyResponse {
        self.handle(connect_event(connection_id, Some(token))).await
    }

    async fn say(&self, connection_id: &str, body: &str) -> Value {
        let res = self.handle(message_event(connection_id, body)).await;
        assert_eq!(res.status_code, 200);
        self.api.last_reply(connection_id)
    }
}

fn fixture(name: &str) -> Value {
    let text = match name {
        "connect" => include_str!("fixtures/connect.json"),
        "connect_without_token" => include_str!("fixtures/connect_without_token.json"),
        "disconnect" => include_str!("fixtures/disconnect.json"),
        "message" => include_str!("fixtures/message.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn connect_event(connection_id: &str, token: Option<&str>) -> Value {
    let mut e = fixture(if token.is_some() { "connect" } else { "connect_without_token" });
    e["requestContext"]["connectionId"] = json!(connection_id);
    if let Some(t) = token {
        e["queryStringParameters"]["token"] = json!(t);
        e["multiValueQueryStringParameters"]["token"] = json!([t]);
    }
    e
}

fn message_event(connection_id: &str, body: &str) -> Value {
    let mut e = fixture("message");
    e["requestContext"]["connectionId"] = json!(connection_id);
    e["body"] = json!(body);
    e
}

fn disconnect_event(connection_id: &str) -> Value {
    let mut e = fixture("disconnect");
    e["requestContext"]["connectionId"] = json!(connection_id);
    e
}

fn body_json(res: &ApiGatewayProxyResponse) -> Value {
    match &res.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("expected a text body, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_records_the_connection_for_two_hours() {
    let w = world();
    let (sp, token) = w.user("sp@example.com", Role::Salesperson).await;
    let res = w.handle(connect_event(CONNECTION, Some(&token))).await;
    assert_eq!(res.status_code, 200);
    // The response serialises as API Gateway expects it.
    assert_eq!(serde_json::to_value(&res).unwrap()["statusCode"], 200);

    let conn = connections::get(w.deps.store.as_ref(), CONNECTION).await.unwrap().expect("recorded");
    assert_eq!((conn.user_id, conn.role, conn.connected_at), (sp.id.clone(), Role::Salesperson, start()));
    let item = w.deps.store.get(&repo::keys::connection(CONNECTION)).await.unwrap().unwrap();
    assert_eq!(item.n("expires_at"), Some((start() + Duration::hours(2)).timestamp()));

    // The fixture as stored, untouched, also parses and routes.
    let original: ApiGatewayWebsocketProxyRequest = serde_json::from_value(fixture("connect")).unwrap();
    assert_eq!(original.request_context.event_type.as_deref(), Some("CONNECT"));
    assert_eq!(original.query_string_parameters.first("token"), Some("{{TOKEN}}"));
    assert_eq!(fn_ws::handle(&w.deps, w.api.as_ref(), original).await.status_code, 401);
}

#[tokio::test]
async fn bad_or_missing_tokens_are_refused_and_nothing_is_stored() {
    let w = world();
    let (_, token) = w.user("sp@example.com", Role::Salesperson).await;
    let (admin, _) = w.user("admin@example.com", Role::Admin).await;
    let forged = jwt::issue(
        b"another-secret-another-secret-another!",
        &admin.id,
        Role::Admin,
        start(),
        StdDuration::from_secs(900),
    )
    .unwrap()
    .0;
    let mut tampered = token.clone();
    tampered.push('x');
    for event in [
        connect_event("c-missing", None),
        connect_event("c-empty", Some("")),
        connect_event("c-garbage", Some("not.a.jwt")),
        connect_event("c-forged", Some(&forged)),
        connect_event("c-tampered", Some(&tampered)),
    ] {
        let id = event["requestContext"]["connectionId"].as_str().unwrap().to_owned();
        let res = w.handle(event).await;
        assert_eq!(res.status_code, 401, "{id}");
        assert_eq!(body_json(&res)["error"]["code"], "unauthorized");
        assert_eq!(connections::get(w.deps.store.as_ref(), &id).await.unwrap(), None, "{id}");
    }
    // An expired token too.
    w.clock.advance(Duration::hours(1));
    assert_eq!(w.connect_as("c-expired", &token).await.status_code, 401);
    assert_eq!(connections::by_role(w.deps.store.as_ref(), Role::Salesperson).await.unwrap(), vec![]);
}

#[tokio::test]
async fn messages_are_answered_on_the_same_connection() {
    let w = world();
    let (sp, token) = w.user("sp@example.com", Role::Salesperson).await;
    assert_eq!(w.connect_as(CONNECTION, &token).await.status_code, 200);

    // The fixture's own body: a ping, acknowledged and refreshing presence.
    w.clock.advance(Duration::seconds(30));
    let res = w.handle(fixture("message")).await;
    assert_eq!(res.status_code, 200);
    let ack = w.api.last_reply(CONNECTION);
    assert_eq!((ack["type"].as_str(), ack["request_id"].as_str()), (Some("ack"), Some("p1")));
    let conn = connections::get(w.deps.store.as_ref(), CONNECTION).await.unwrap().unwrap();
    assert_eq!(conn.last_seen, start() + Duration::seconds(30));

    let ack = w.say(CONNECTION, r#"{"action":"set_availability","availability":"available","request_id":"a"}"#).await;
    assert_eq!(ack["availability"], "available", "{ack}");
    let stored = repo::users::get(w.deps.store.as_ref(), &sp.id).await.unwrap().unwrap();
    assert_eq!(stored.user.availability, Availability::Available);
    let own_events: Vec<Value> =
        w.api.posted_to(CONNECTION).into_iter().filter(|v| v["type"] == "user_availability").collect();
    assert_eq!(own_events.len(), 1);

    let missing = ibrat_domain::CallId::new();
    let err = w
        .say(CONNECTION, &json!({ "action": "disposition", "call_id": missing, "outcome": "interested" }).to_string())
        .await;
    assert_eq!(err["error"]["code"], "not_found", "{err}");
    for (body, code) in [
        ("", "bad_message"),
        ("{", "bad_message"),
        (r#"{"action":"fly"}"#, "bad_message"),
        (r#"{"action":"set_availability","availability":"on_call"}"#, "validation_failed"),
        (r#"{"action":"disposition","call_id":"x","outcome":"interested"}"#, "validation_failed"),
    ] {
        assert_eq!(w.say(CONNECTION, body).await["error"]["code"], code, "{body}");
    }

    // A base64 body (binary frame) is decoded first.
    let mut e = message_event(CONNECTION, "eyJhY3Rpb24iOiJwaW5nIiwicmVxdWVzdF9pZCI6ImI2NCJ9");
    e["isBase64Encoded"] = json!(true);
    assert_eq!(w.handle(e).await.status_code, 200);
    assert_eq!(w.api.last_reply(CONNECTION)["request_id"], "b64");
}

#[tokio::test]
async fn an_unknown_connection_is_told_to_reconnect_and_closed() {
    let w = world();
    let err = w.say("never-connected", r#"{"action":"ping"}"#).await;
    assert_eq!(err["error"]["code"], "unknown_connection");
    assert_eq!(*w.api.closed.lock().unwrap(), vec!["never-connected".to_owned()]);
}

#[tokio::test]
async fn disconnect_forgets_the_connection_and_the_salesperson_goes_away() {
    let w = world();
    let (admin, admin_token) = w.user("admin@example.com", Role::Admin).await;
    let (sp, token) = w.user("sp@example.com", Role::Salesperson).await;
    assert_eq!(w.connect_as("admin-conn", &admin_token).await.status_code, 200);
    assert_eq!(w.connect_as(CONNECTION, &token).await.status_code, 200);
    w.say(CONNECTION, r#"{"action":"set_availability","availability":"available"}"#).await;

    let res = w.handle(disconnect_event(CONNECTION)).await;
    assert_eq!(res.status_code, 200);
    assert_eq!(connections::get(w.deps.store.as_ref(), CONNECTION).await.unwrap(), None);
    let stored = repo::users::get(w.deps.store.as_ref(), &sp.id).await.unwrap().unwrap();
    assert_eq!(stored.user.availability, Availability::Away);
    let admin_heard: Vec<(Value, Value)> =
        w.api.posted_to("admin-conn").into_iter().map(|v| (v["type"].clone(), v["user_id"].clone())).collect();
    let sp_id = json!(sp.id);
    assert_eq!(
        admin_heard,
        vec![
            // The fake accepts posts during `$connect`; API Gateway would not.
            (json!("user_presence"), json!(admin.id)),
            (json!("user_presence"), sp_id.clone()),
            (json!("user_availability"), sp_id.clone()),
            (json!("user_presence"), sp_id.clone()),
            (json!("user_availability"), sp_id),
        ]
    );

    // A repeated disconnect (API Gateway retries) is harmless.
    assert_eq!(w.handle(disconnect_event(CONNECTION)).await.status_code, 200);
}

#[tokio::test]
async fn a_connection_that_answers_410_gone_is_forgotten() {
    let w = world();
    let (_, admin_token) = w.user("admin@example.com", Role::Admin).await;
    let (sp, token) = w.user("sp@example.com", Role::Salesperson).await;
    assert_eq!(w.connect_as("admin-conn", &admin_token).await.status_code, 200);

    // During `$connect` API Gateway answers 410 to posts to the new
    // connection; the user's own presence event must not forget it.
    w.api.gone.lock().unwrap().insert(CONNECTION.to_owned());
    assert_eq!(w.connect_as(CONNECTION, &token).await.status_code, 200);
    assert!(connections::get(w.deps.store.as_ref(), CONNECTION).await.unwrap().is_some());

    // A minute later the client has vanished without a disconnect.
    w.clock.advance(Duration::minutes(1));
    w.deps
        .emit(ibrat_domain::EventKind::UserAvailability { user_id: sp.id.clone(), availability: Availability::Away })
        .await;
    assert_eq!(connections::get(w.deps.store.as_ref(), CONNECTION).await.unwrap(), None);
    assert_eq!(w.api.posted_to("admin-conn").last().unwrap()["type"], "user_availability");

    // A reply that finds its connection gone forgets it too.
    let other = "Dd1nMeCUmjBDGyh=";
    assert_eq!(w.connect_as(other, &token).await.status_code, 200);
    w.api.gone.lock().unwrap().insert(other.to_owned());
    let res = w.handle(message_event(other, r#"{"action":"ping"}"#)).await;
    assert_eq!(res.status_code, 200);
    assert_eq!(connections::get(w.deps.store.as_ref(), other).await.unwrap(), None);
}

#[tokio::test]
async fn events_without_a_connection_id_or_route_are_bad_requests() {
    let w = world();
    let mut e = fixture("message");
    e["requestContext"].as_object_mut().unwrap().remove("connectionId");
    assert_eq!(w.handle(e).await.status_code, 400);
    let mut e = fixture("message");
    e["requestContext"].as_object_mut().unwrap().remove("routeKey");
    assert_eq!(w.handle(e).await.status_code, 400);
    assert!(w.api.posts.lock().unwrap().is_empty(), "nothing was answered");
}
