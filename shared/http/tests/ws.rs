//! Local mode's WebSocket endpoint end to end over real sockets: token
//! checks before the upgrade, who hears which event, client messages and
//! their replies, presence timeouts and the queue statistics.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::{Harness, NowUtc};
use futures::{SinkExt, StreamExt};
use ibrat_domain::{Availability, Disposition, EventKind, LeadId, LeadStatus, Priority, Role, User};
use ibrat_http::ws_fanout::HubFanout;
use ibrat_http::AppState;
use ibrat_local::LocalHub;
use ibrat_ports::EventPublisher;
use ibrat_services::realtime::{connections, presence, queue_stats, Fanout};
use ibrat_services::{repo, Deps};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for a frame that must come.
const PATIENCE: StdDuration = StdDuration::from_secs(5);

/// The harness's store and clock, with events fanned out to real sockets.
struct Served {
    h: Harness,
    deps: Deps,
    hub: Arc<LocalHub>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Which publisher fans events out to the sockets.
#[derive(Debug, Clone, Copy)]
enum Publisher {
    /// Local mode's: audience picked from the hub's memory.
    Hub,
    /// AWS's: audience read from the connection registry in the table.
    Registry,
}

async fn serve() -> Served {
    serve_with(Publisher::Hub).await
}

async fn serve_with(publisher: Publisher) -> Served {
    let h = Harness::new();
    let hub = Arc::new(LocalHub::new());
    let events: Arc<dyn EventPublisher> = match publisher {
        Publisher::Hub => Arc::new(HubFanout::new(hub.clone())),
        Publisher::Registry => Arc::new(Fanout::new(h.deps.store.clone(), hub.clone()).with_clock(h.clock.clone())),
    };
    // The sockets are the hub's, as in local mode, so the sweep can close them.
    let deps = Deps { events, connections: hub.clone(), ..h.deps.clone() };
    let app = ibrat_http::ws::router(hub.clone()).with_state(AppState::new(deps.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served { h, deps, hub, addr, server }
}

impl Served {
    async fn connect(&self, user: &User) -> Socket {
        let url = format!("ws://{}/ws?token={}", self.addr, self.h.token(user));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
        // The first reply proves the connection is registered.
        drain(&mut ws).await;
        ws
    }

    async fn refused(&self, query: &str) -> u16 {
        match tokio_tungstenite::connect_async(format!("ws://{}/ws{query}", self.addr)).await {
            Err(tungstenite::Error::Http(res)) => res.status().as_u16(),
            other => panic!("expected an HTTP refusal, got {:?}", other.map(|(_, r)| r.status())),
        }
    }

    async fn registered(&self) -> usize {
        let store = self.deps.store.as_ref();
        let admins = connections::by_role(store, Role::Admin).await.expect("query");
        let sales = connections::by_role(store, Role::Salesperson).await.expect("query");
        admins.len() + sales.len()
    }
}

async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next()).await.expect("a frame in time");
        match frame.expect("socket open").expect("frame") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("server sends JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.expect("sends");
}

/// Sends a message and returns its reply, collecting events that came first.
async fn ask(ws: &mut Socket, v: Value) -> (Value, Vec<Value>) {
    send(ws, v).await;
    let mut before = Vec::new();
    loop {
        let m = next_json(ws).await;
        if m["type"] == "ack" || m["type"] == "error" {
            return (m, before);
        }
        before.push(m);
    }
}

/// Every event delivered so far: events are queued before the reply to a
/// ping sent afterwards, so nothing is missed and nothing is waited for.
async fn drain(ws: &mut Socket) -> Vec<Value> {
    let (reply, events) = ask(ws, json!({ "action": "ping", "request_id": "drain" })).await;
    assert_eq!(reply["type"], "ack", "{reply}");
    events
}

/// Reads until the server closes the socket and returns the messages that
/// came before the close.
async fn until_closed(ws: &mut Socket) -> Vec<Value> {
    let mut before = Vec::new();
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next()).await.expect("the server closes in time");
        match frame {
            Some(Ok(Message::Text(t))) => before.push(serde_json::from_str(t.as_str()).expect("server sends JSON")),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return before,
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

#[tokio::test]
async fn bad_or_missing_tokens_are_refused_before_the_upgrade() {
    let s = serve().await;
    assert_eq!(s.refused("").await, 401);
    assert_eq!(s.refused("?token=").await, 401);
    assert_eq!(s.refused("?token=not.a.jwt").await, 401);
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let forged = ibrat_services::auth::jwt::issue(
        b"another-secret-another-secret-another!",
        &admin.id,
        Role::Admin,
        s.h.clock.now_utc(),
        StdDuration::from_secs(900),
    )
    .expect("signs")
    .0;
    assert_eq!(s.refused(&format!("?token={forged}")).await, 401);
    assert_eq!(s.registered().await, 0, "nothing is stored for a refused connection");

    let mut ws = s.connect(&admin).await;
    assert_eq!(s.registered().await, 1);
    let (ack, _) = ask(&mut ws, json!({ "action": "ping", "request_id": "r1" })).await;
    assert_eq!((ack["action"].as_str(), ack["request_id"].as_str()), (Some("ping"), Some("r1")));
}

#[tokio::test]
async fn each_user_hears_only_what_they_may_see() {
    for publisher in [Publisher::Hub, Publisher::Registry] {
        audience_is_respected(serve_with(publisher).await).await;
    }
}

async fn audience_is_respected(s: Served) {
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let s1 = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&s1).await;
    let s2 = s.h.user("s2@example.com", Role::Salesperson).await;
    s.h.open_line(&s2).await;
    let mut wa = s.connect(&admin).await;
    let mut w1 = s.connect(&s1).await;
    let mut w2 = s.connect(&s2).await;
    // Presence: the admin heard both salespeople arrive; nobody else did.
    let arrivals: Vec<_> = drain(&mut wa).await.iter().map(|e| e["user_id"].clone()).collect();
    assert_eq!(arrivals, vec![json!(s1.id), json!(s2.id)]);
    assert!(drain(&mut w1).await.is_empty());
    assert!(drain(&mut w2).await.is_empty());

    let lead = LeadId::for_phone(&ibrat_domain::Phone::parse("+998901234567", Default::default()).expect("phone"));
    let call = ibrat_domain::CallId::new();
    let events = [
        EventKind::CallCreated { call_id: call.clone(), lead_id: lead.clone(), attempt: 1 },
        EventKind::CallIncoming {
            call_id: call.clone(),
            lead_id: lead.clone(),
            salesperson_id: s1.id.clone(),
            lead_name: "Bobur".into(),
            lead_phone: "+998901234567".into(),
            notes: String::new(),
            attempts: 1,
            custom_fields: Default::default(),
            last_disposition: None,
        },
        EventKind::LeadUpdated {
            lead_id: lead.clone(),
            status: LeadStatus::Completed,
            priority: Priority::Medium,
            salesperson_id: Some(s1.id.clone()),
            next_attempt_at: None,
        },
        EventKind::UserAvailability { user_id: s2.id.clone(), availability: Availability::Away },
        EventKind::QueueStats { waiting_by_priority: Default::default(), calls_in_flight: 2, salespeople_available: 1 },
    ];
    for e in events {
        s.deps.emit(e).await;
    }
    let admin_saw = drain(&mut wa).await;
    assert_eq!(
        types(&admin_saw),
        ["call_created", "call_incoming", "lead_updated", "user_availability", "queue_stats"]
    );
    assert!(admin_saw.iter().all(|e| e["v"] == 1 && e["ts"].is_string()));
    let s1_saw = drain(&mut w1).await;
    assert_eq!(types(&s1_saw), ["call_incoming", "lead_updated", "queue_stats"]);
    let s2_saw = drain(&mut w2).await;
    assert_eq!(types(&s2_saw), ["user_availability", "queue_stats"]);
    assert!(!s2_saw.iter().any(|e| e.to_string().contains(lead.as_str())), "no lead data of another salesperson");
}

#[tokio::test]
async fn availability_and_disposition_messages_are_acknowledged() {
    let s = serve().await;
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let s1 = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&s1).await;
    let s2 = s.h.user("s2@example.com", Role::Salesperson).await;
    s.h.open_line(&s2).await;
    let mut wa = s.connect(&admin).await;
    let mut w1 = s.connect(&s1).await;
    let mut w2 = s.connect(&s2).await;
    drain(&mut wa).await;

    let (ack, own) =
        ask(&mut w1, json!({ "action": "set_availability", "availability": "available", "request_id": "a1" })).await;
    // The salesperson hears their own change, before the acknowledgement.
    assert_eq!(types(&own), ["user_availability"]);
    assert_eq!(
        ack,
        json!({ "type": "ack", "action": "set_availability", "request_id": "a1", "availability": "available" })
    );
    let stored = repo::users::get(s.deps.store.as_ref(), &s1.id).await.expect("read").expect("user");
    assert_eq!(stored.user.availability, Availability::Available);
    let heard = drain(&mut wa).await;
    assert_eq!(types(&heard), ["user_availability"]);
    assert_eq!(heard[0]["user_id"], json!(s1.id));
    assert!(drain(&mut w2).await.is_empty());

    let (err, _) = ask(&mut w1, json!({ "action": "set_availability", "availability": "on_call" })).await;
    assert_eq!(err["error"]["code"], "validation_failed");

    let lead = s.h.lead("+998901112233", LeadStatus::Completed, Some(&s1.id)).await;
    let call = s.h.connected_call(&lead, &s1.id).await;
    let (err, _) = ask(&mut w2, json!({ "action": "disposition", "call_id": call.id, "outcome": "interested" })).await;
    assert_eq!(err["error"]["code"], "not_found", "another salesperson's call does not exist for them");
    let (err, _) = ask(&mut w1, json!({ "action": "disposition", "call_id": call.id, "outcome": "call_back" })).await;
    assert_eq!(err["error"]["code"], "validation_failed");
    let (err, _) = ask(&mut w1, json!({ "action": "disposition", "call_id": "nope", "outcome": "interested" })).await;
    assert_eq!(err["error"]["code"], "validation_failed");

    let at = s.h.clock.now_utc() + Duration::hours(3);
    let (ack, lead_events) = ask(
        &mut w1,
        json!({ "action": "disposition", "call_id": call.id, "outcome": "call_back",
                "callback_at": at, "notes": "after lunch", "request_id": "d1" }),
    )
    .await;
    assert_eq!(types(&lead_events), ["lead_updated"]);
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!((ack["request_id"].as_str(), ack["call_id"].clone()), (Some("d1"), json!(call.id)));
    let stored = repo::calls::get(s.deps.store.as_ref(), &call.id).await.expect("read").expect("call");
    assert_eq!(stored.disposition, Some(Disposition::CallBack { at }));
    assert_eq!(stored.notes.as_deref(), Some("after lunch"));
    assert!(drain(&mut w2).await.is_empty());
}

#[tokio::test]
async fn malformed_messages_get_errors_and_the_socket_stays_usable() {
    let s = serve().await;
    let sp = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&sp).await;
    let mut ws = s.connect(&sp).await;
    let oversized = json!({ "action": "ping", "request_id": "x".repeat(20_000) });
    let cases = [
        ("not json".to_owned(), "bad_message"),
        (json!({ "action": "dance" }).to_string(), "bad_message"),
        (json!({ "no_action": 1 }).to_string(), "bad_message"),
        (json!({ "action": "disposition" }).to_string(), "bad_message"),
        (json!({ "action": "ping", "extra": true }).to_string(), "bad_message"),
        (json!([1, 2, 3]).to_string(), "bad_message"),
        (oversized.to_string(), "message_too_large"),
    ];
    for (text, code) in cases {
        ws.send(Message::Text(text.clone().into())).await.expect("sends");
        let reply = next_json(&mut ws).await;
        assert_eq!(reply["type"], "error", "{text:.60}");
        assert_eq!(reply["error"]["code"], code, "{text:.60}");
    }
    ws.send(Message::Binary(vec![0xff, 0x00, 0x01].into())).await.expect("sends");
    assert_eq!(next_json(&mut ws).await["error"]["code"], "bad_message");
    drain(&mut ws).await;
}

#[tokio::test]
async fn closing_the_socket_forgets_the_connection_and_the_salesperson_goes_away() {
    let s = serve().await;
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let sp = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&sp).await;
    let mut wa = s.connect(&admin).await;
    let mut w1 = s.connect(&sp).await;
    ask(&mut w1, json!({ "action": "set_availability", "availability": "available" })).await;
    drain(&mut wa).await;
    assert_eq!(s.registered().await, 2);

    w1.close(None).await.expect("closes");
    let offline = next_json(&mut wa).await;
    assert_eq!((offline["type"].as_str(), offline["online"].as_bool()), (Some("user_presence"), Some(false)));
    let away = next_json(&mut wa).await;
    assert_eq!((away["type"].as_str(), away["availability"].as_str()), (Some("user_availability"), Some("away")));
    assert_eq!(s.registered().await, 1);
    let stored = repo::users::get(s.deps.store.as_ref(), &sp.id).await.expect("read").expect("user");
    assert_eq!(stored.user.availability, Availability::Away);
}

#[tokio::test]
async fn silent_salespeople_stop_being_routed_calls() {
    let s = serve().await;
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let quiet = s.h.user("quiet@example.com", Role::Salesperson).await;
    s.h.open_line(&quiet).await;
    let chatty = s.h.user("chatty@example.com", Role::Salesperson).await;
    s.h.open_line(&chatty).await;
    let mut wa = s.connect(&admin).await;
    let mut wq = s.connect(&quiet).await;
    let mut wc = s.connect(&chatty).await;
    for ws in [&mut wq, &mut wc] {
        ask(ws, json!({ "action": "set_availability", "availability": "available" })).await;
    }
    let timeout = Duration::from_std(s.deps.config.presence_timeout).expect("fits");

    s.h.clock.advance(timeout / 2);
    drain(&mut wc).await; // a heartbeat
    s.h.clock.advance(timeout / 2 + Duration::seconds(1));
    drain(&mut wa).await;
    let outcome = presence::sweep(&s.deps).await.expect("sweeps");
    assert_eq!((outcome.set_away, outcome.removed_connections), (1, 1));
    let users = repo::users::get(s.deps.store.as_ref(), &quiet.id).await.expect("read").expect("user");
    assert_eq!(users.user.availability, Availability::Away);
    let users = repo::users::get(s.deps.store.as_ref(), &chatty.id).await.expect("read").expect("user");
    assert_eq!(users.user.availability, Availability::Available);
    let heard = drain(&mut wa).await;
    assert_eq!(types(&heard), ["user_availability"]);
    assert_eq!(heard[0]["user_id"], json!(quiet.id));

    // The silent client heard it went away, then the server closed it.
    let heard = until_closed(&mut wq).await;
    assert_eq!(types(&heard), ["user_availability"]);
    assert_eq!(heard[0]["availability"], "away");

    // A second sweep finds nothing more to do.
    let again = presence::sweep(&s.deps).await.expect("sweeps");
    assert_eq!((again.set_away, again.removed_connections), (0, 0));
}

#[tokio::test]
async fn a_forgotten_connection_is_closed_and_hears_nothing_more() {
    for publisher in [Publisher::Hub, Publisher::Registry] {
        forgotten_connection_is_closed(serve_with(publisher).await, publisher).await;
    }
}

async fn forgotten_connection_is_closed(s: Served, publisher: Publisher) {
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let quiet = s.h.user("quiet@example.com", Role::Salesperson).await;
    s.h.open_line(&quiet).await;
    let mut wa = s.connect(&admin).await;
    let mut wq = s.connect(&quiet).await;
    ask(&mut wq, json!({ "action": "set_availability", "availability": "available" })).await;
    assert_eq!(s.hub.len(), 2);
    let timeout = Duration::from_std(s.deps.config.presence_timeout).expect("fits");
    s.h.clock.advance(timeout + Duration::seconds(1));
    drain(&mut wa).await;

    let outcome = presence::sweep(&s.deps).await.expect("sweeps");
    assert_eq!(outcome.removed_connections, 1, "{publisher:?}");
    // Events the quiet salesperson would otherwise hear.
    s.deps.emit(EventKind::UserAvailability { user_id: quiet.id.clone(), availability: Availability::Away }).await;
    s.deps
        .emit(EventKind::QueueStats {
            waiting_by_priority: Default::default(),
            calls_in_flight: 0,
            salespeople_available: 0,
        })
        .await;

    let heard = until_closed(&mut wq).await;
    assert_eq!(types(&heard), ["user_availability"], "{publisher:?}: only the sweep's own news, then the close");
    assert_eq!(s.hub.len(), 1, "{publisher:?}: the forgotten socket is no longer in the hub");
    assert_eq!(types(&drain(&mut wa).await), ["user_availability", "user_availability", "queue_stats"]);
    assert_eq!(s.registered().await, 1);
}

#[tokio::test]
async fn queue_statistics_reach_everyone_at_most_once_a_second() {
    let s = serve().await;
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let sp = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&sp).await;
    s.h.lead("+998901112233", LeadStatus::Queued, None).await;
    let mut wa = s.connect(&admin).await;
    let mut w1 = s.connect(&sp).await;
    drain(&mut wa).await;

    assert!(queue_stats::maybe_publish(&s.deps).await.expect("publishes"));
    assert!(!queue_stats::maybe_publish(&s.deps).await.expect("rate limited"));
    s.h.clock.advance(Duration::milliseconds(999));
    assert!(!queue_stats::maybe_publish(&s.deps).await.expect("rate limited"));
    s.h.clock.advance(Duration::milliseconds(1));
    assert!(queue_stats::maybe_publish(&s.deps).await.expect("publishes"));

    for ws in [&mut wa, &mut w1] {
        let heard = drain(ws).await;
        assert_eq!(types(&heard), ["queue_stats", "queue_stats"]);
        assert_eq!(heard[0]["waiting_by_priority"]["medium"], 1, "{}", heard[0]);
        assert_eq!(heard[0]["salespeople_available"], 0);
    }
}

/// Security probe (#14): a deactivated, demoted or re-passworded user's open
/// sockets close at once and hear nothing more, whichever publisher fans
/// events out (the hub's memory locally, the registry on AWS).
#[tokio::test]
async fn sockets_close_when_their_user_loses_the_rights_they_were_opened_with() {
    for publisher in [Publisher::Hub, Publisher::Registry] {
        rights_changes_close_sockets(serve_with(publisher).await, publisher).await;
    }
}

async fn rights_changes_close_sockets(s: Served, publisher: Publisher) {
    use ibrat_services::auth::{self, Actor};
    use ibrat_services::users::{self, UserPatch};
    let admin = s.h.user("admin@example.com", Role::Admin).await;
    let boss = s.h.user("boss@example.com", Role::Admin).await;
    let sp = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&sp).await;
    let other = s.h.user("s2@example.com", Role::Salesperson).await;
    s.h.open_line(&other).await;
    let by = Actor { id: admin.id.clone(), role: Role::Admin };
    let mut wa = s.connect(&admin).await;
    let mut wb = s.connect(&boss).await;
    let mut ws1 = s.connect(&sp).await;
    let mut ws2 = s.connect(&other).await;
    assert_eq!(s.registered().await, 4);

    users::deactivate(&s.deps, &by, &sp.id).await.expect("deactivates");
    // An event the deactivated salesperson would have heard.
    s.deps.emit(EventKind::UserAvailability { user_id: sp.id.clone(), availability: Availability::Away }).await;
    let heard = until_closed(&mut ws1).await;
    assert!(!types(&heard).contains(&"user_availability"), "{publisher:?}: heard {heard:?} after deactivation");

    users::update(&s.deps, &by, &boss.id, UserPatch { role: Some(Role::Salesperson), ..UserPatch::default() })
        .await
        .expect("demotes");
    until_closed(&mut wb).await;

    s.h.clock.advance(Duration::seconds(2));
    auth::change_password(
        &s.deps,
        &Actor { id: other.id.clone(), role: Role::Salesperson },
        common::PASSWORD,
        "a-brand-new-password",
    )
    .await
    .expect("changes");
    until_closed(&mut ws2).await;

    assert_eq!(s.registered().await, 1, "{publisher:?}: only the admin's connection is left");
    assert_eq!(s.hub.len(), 1, "{publisher:?}");
    drain(&mut wa).await;
    // The old tokens no longer open a socket either.
    assert_eq!(s.refused(&format!("?token={}", s.h.token(&sp))).await, 401);
}

/// Security probe (#14): when the user's record changed but their socket was
/// not closed (a crash between the two writes), the next message is refused
/// and the socket closed, and the scheduled sweep closes the silent ones.
#[tokio::test]
async fn every_message_rechecks_the_user_and_the_sweep_closes_what_a_crash_left_open() {
    let s = serve().await;
    let sp = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&sp).await;
    let quiet = s.h.user("s2@example.com", Role::Salesperson).await;
    s.h.open_line(&quiet).await;
    let mut ws = s.connect(&sp).await;
    let mut wq = s.connect(&quiet).await;
    for user in [&sp, &quiet] {
        // The user's write alone, as if the process died before closing sockets.
        let mut rec = repo::users::get(s.deps.store.as_ref(), &user.id).await.unwrap().unwrap();
        rec.user.active = false;
        s.deps.store.put(repo::users::to_item(&rec), None).await.unwrap();
    }
    send(&mut ws, json!({ "action": "set_availability", "availability": "available", "request_id": "r" })).await;
    let heard = until_closed(&mut ws).await;
    let reply = heard.iter().find(|m| m["type"] == "error").expect("a reply before the close");
    assert_eq!(reply["error"]["code"], "session_revoked", "{heard:?}");
    let rec = repo::users::get(s.deps.store.as_ref(), &sp.id).await.unwrap().unwrap();
    assert_ne!(rec.user.availability, Availability::Available, "the action was not carried out");

    let outcome = presence::sweep(&s.deps).await.expect("sweeps");
    assert_eq!(outcome.revoked_connections, 1);
    until_closed(&mut wq).await;
    assert_eq!((s.registered().await, s.hub.len()), (0, 0));
}

/// Security probe (#14): expired tokens, tokens of deactivated users and
/// frames beyond the limit.
#[tokio::test]
async fn expired_tokens_and_oversized_frames_are_refused() {
    let s = serve().await;
    let sp = s.h.user("s1@example.com", Role::Salesperson).await;
    s.h.open_line(&sp).await;
    let token = s.h.token(&sp);
    s.h.clock.advance(Duration::minutes(16));
    assert_eq!(s.refused(&format!("?token={token}")).await, 401, "expired");
    let tampered = format!("{}x", s.h.token(&sp));
    assert_eq!(s.refused(&format!("?token={tampered}")).await, 401, "bad signature");
    let mut ws = s.connect(&sp).await;
    // Far beyond what a message may be: the server closes rather than buffers.
    let huge = "x".repeat(1024 * 1024);
    let _ = ws.send(Message::Text(huge.into())).await;
    until_closed(&mut ws).await;
    assert_eq!(s.registered().await, 0);
}
