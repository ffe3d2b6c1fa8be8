//! The ws handler on API Gateway WebSocket event JSON (fixtures shaped as
//! API Gateway sends them), over local adapters and a management API fake
//! that records posts and can answer 410 Gone.

use std::time::Duration as StdDuration;

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{Availability, Role, User};
use ibrat_services::auth::jwt;
use ibrat_services::realtime::connections;
use ibrat_services::repo;
use ibrat_testkit::{inside_window, user, RecordingConnections, TestDeps};
use serde_json::{json, Value};

const CONNECTION: &str = "Cc0mLdBTliACFxg=";

/// The kit's system with the real fan-out over a management API fake
/// (`kit.connections`) that records posts and can answer 410 Gone.
struct World {
    kit: TestDeps,
}

fn start() -> DateTime<Utc> {
    inside_window()
}

fn world() -> World {
    World { kit: TestDeps::builder().at(start()).record_connections().fanout().build() }
}

/// The last ack or error posted to a connection.
fn last_reply(api: &RecordingConnections, connection_id: &str) -> Value {
    let replies: Vec<Value> =
        api.posted_to(connection_id).into_iter().filter(|v| v["type"] == "ack" || v["type"] == "error").collect();
    replies.last().cloned().expect("a reply was posted")
}

impl World {
    /// A user and their token; a salesperson is on an open line.
    async fn user(&self, email: &str, role: Role) -> (User, String) {
        let now = self.kit.now();
        let user = user(email, role, now).store(self.kit.store.as_ref()).await;
        if role == Role::Salesperson {
            // On an open line, so they may be ready.
            ibrat_testkit::open_line(self.kit.store.as_ref(), &user.id, now, "CA00000000000000000000000000000a01")
                .await;
        }
        let secret = self.kit.deps.config.jwt_secret.expose().as_bytes();
        let token = jwt::issue(secret, &user.id, role, now, StdDuration::from_secs(900)).unwrap().0;
        (user, token)
    }

    async fn handle(&self, event: Value) -> ApiGatewayProxyResponse {
        let event: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event).expect("API Gateway's shape");
        fn_ws::handle(&self.kit.deps, self.kit.connections.as_ref(), event).await
    }

    async fn connect_as(&self, connection_id: &str, token: &str) -> ApiGatewayProxyResponse {
        self.handle(connect_event(connection_id, Some(token))).await
    }

    async fn say(&self, connection_id: &str, body: &str) -> Value {
        let res = self.handle(message_event(connection_id, body)).await;
        assert_eq!(res.status_code, 200);
        last_reply(&self.kit.connections, connection_id)
    }
}

fn fixture(name: &str) -> Value {
    ibrat_testkit::lambda::json_fixture(&format!("ws/{name}.json"))
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

    let conn = connections::get(w.kit.deps.store.as_ref(), CONNECTION).await.unwrap().expect("recorded");
    assert_eq!((conn.user_id, conn.role, conn.connected_at), (sp.id.clone(), Role::Salesperson, start()));
    let item = w.kit.deps.store.get(&repo::keys::connection(CONNECTION)).await.unwrap().unwrap();
    assert_eq!(item.n("expires_at"), Some((start() + Duration::hours(2)).timestamp()));

    // The fixture as stored, untouched, also parses and routes.
    let original: ApiGatewayWebsocketProxyRequest = serde_json::from_value(fixture("connect")).unwrap();
    assert_eq!(original.request_context.event_type.as_deref(), Some("CONNECT"));
    assert_eq!(original.query_string_parameters.first("token"), Some("{{TOKEN}}"));
    assert_eq!(fn_ws::handle(&w.kit.deps, w.kit.connections.as_ref(), original).await.status_code, 401);
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
        assert_eq!(connections::get(w.kit.deps.store.as_ref(), &id).await.unwrap(), None, "{id}");
    }
    // An expired token too.
    w.kit.clock.advance(Duration::hours(1));
    assert_eq!(w.connect_as("c-expired", &token).await.status_code, 401);
    assert_eq!(connections::by_role(w.kit.deps.store.as_ref(), Role::Salesperson).await.unwrap(), vec![]);
}

#[tokio::test]
async fn messages_are_answered_on_the_same_connection() {
    let w = world();
    let (sp, token) = w.user("sp@example.com", Role::Salesperson).await;
    assert_eq!(w.connect_as(CONNECTION, &token).await.status_code, 200);

    // The fixture's own body: a ping, acknowledged and refreshing presence.
    w.kit.clock.advance(Duration::seconds(30));
    let res = w.handle(fixture("message")).await;
    assert_eq!(res.status_code, 200);
    let ack = last_reply(&w.kit.connections, CONNECTION);
    assert_eq!((ack["type"].as_str(), ack["request_id"].as_str()), (Some("ack"), Some("p1")));
    let conn = connections::get(w.kit.deps.store.as_ref(), CONNECTION).await.unwrap().unwrap();
    assert_eq!(conn.last_seen, start() + Duration::seconds(30));

    let ack = w.say(CONNECTION, r#"{"action":"set_availability","availability":"available","request_id":"a"}"#).await;
    assert_eq!(ack["availability"], "available", "{ack}");
    let stored = repo::users::get(w.kit.deps.store.as_ref(), &sp.id).await.unwrap().unwrap();
    assert_eq!(stored.user.availability, Availability::Available);
    let own_events: Vec<Value> =
        w.kit.connections.posted_to(CONNECTION).into_iter().filter(|v| v["type"] == "user_availability").collect();
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
    assert_eq!(last_reply(&w.kit.connections, CONNECTION)["request_id"], "b64");
}

#[tokio::test]
async fn an_unknown_connection_is_told_to_reconnect_and_closed() {
    let w = world();
    let err = w.say("never-connected", r#"{"action":"ping"}"#).await;
    assert_eq!(err["error"]["code"], "unknown_connection");
    assert_eq!(w.kit.connections.closed(), vec!["never-connected".to_owned()]);
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
    assert_eq!(connections::get(w.kit.deps.store.as_ref(), CONNECTION).await.unwrap(), None);
    let stored = repo::users::get(w.kit.deps.store.as_ref(), &sp.id).await.unwrap().unwrap();
    assert_eq!(stored.user.availability, Availability::Away);
    let admin_heard: Vec<(Value, Value)> = w
        .kit
        .connections
        .posted_to("admin-conn")
        .into_iter()
        .map(|v| (v["type"].clone(), v["user_id"].clone()))
        .collect();
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
    w.kit.connections.set_gone(CONNECTION);
    assert_eq!(w.connect_as(CONNECTION, &token).await.status_code, 200);
    assert!(connections::get(w.kit.deps.store.as_ref(), CONNECTION).await.unwrap().is_some());

    // A minute later the client has vanished without a disconnect.
    w.kit.clock.advance(Duration::minutes(1));
    w.kit
        .deps
        .emit(ibrat_domain::EventKind::UserAvailability { user_id: sp.id.clone(), availability: Availability::Away })
        .await;
    assert_eq!(connections::get(w.kit.deps.store.as_ref(), CONNECTION).await.unwrap(), None);
    assert_eq!(w.kit.connections.posted_to("admin-conn").last().unwrap()["type"], "user_availability");

    // A reply that finds its connection gone forgets it too.
    let other = "Dd1nMeCUmjBDGyh=";
    assert_eq!(w.connect_as(other, &token).await.status_code, 200);
    w.kit.connections.set_gone(other);
    let res = w.handle(message_event(other, r#"{"action":"ping"}"#)).await;
    assert_eq!(res.status_code, 200);
    assert_eq!(connections::get(w.kit.deps.store.as_ref(), other).await.unwrap(), None);
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
    assert!(w.kit.connections.posts().is_empty(), "nothing was answered");
}
