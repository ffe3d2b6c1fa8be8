//! Issue #14's review findings at the HTTP edge: dates and numbers from a
//! request are bounded before any arithmetic (a 400 in the error shape,
//! never a panic), and a panic in a handler answers 500 while the process
//! keeps serving. Also the HTTP security probes: parallel logins, the
//! per-address count across a success, oversized bodies.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use common::{json_body, Harness, PASSWORD};
use ibrat_domain::{LeadStatus, Role};
use ibrat_http::auth::ClientIp;
use ibrat_services::auth::throttle::{ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES};
use serde_json::json;
use tower::ServiceExt;

/// Each of these once reached `to - Duration::days(n)` and panicked.
#[tokio::test]
async fn extreme_dates_are_refused_with_a_400_not_a_panic() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let ta = h.token(&admin);
    let far = "-262143-01-01T00:00:00Z";
    let paths = [
        format!("/api/calls?to={far}"),
        format!("/api/calls?from={far}"),
        "/api/calls?to=1999-12-31T23:59:59Z".to_owned(),
        format!("/api/users/{}/stats?to={far}", admin.id),
        format!("/api/users/{}/stats?from=2026-01-01T00:00:00Z&to=2200-01-01T00:00:00Z", admin.id),
        "/api/calls/export?to=-262143-01-01".to_owned(),
        "/api/calls/export?from=1900-01-01&to=2026-01-01".to_owned(),
    ];
    for path in &paths {
        let (s, b) = h.call("GET", path, Some(&ta), None).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("validation_failed")),
            "{path}: {b}"
        );
        let message = b["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("between 2000-01-01 and 2199-12-31"), "{path}: {message}");
    }
    let (s, b) = h.call("GET", "/api/calls?to=%2B262142-12-31T23:59:59Z", Some(&ta), None).await;
    assert_eq!((s, b["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_failed")), "{b}");
    // The bounds themselves are accepted.
    let (s, b) = h.call("GET", "/api/calls?to=2000-01-01T00:00:00Z", Some(&ta), None).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = h.call("GET", "/api/calls/export?to=2000-01-05", Some(&ta), None).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn an_extreme_callback_time_is_refused() {
    let h = Harness::new();
    let sp = h.user("sp@example.com", Role::Salesperson).await;
    let lead = h.lead("+998901234567", LeadStatus::InCall, Some(&sp.id)).await;
    let call = h.connected_call(&lead, &sp.id).await;
    let body = json!({ "outcome": "call_back", "callback_at": "+262142-12-31T23:59:59Z" });
    let (s, b) = h.call("POST", &format!("/api/calls/{}/disposition", call.id), Some(&h.token(&sp)), Some(body)).await;
    assert_eq!((s, b["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_failed")), "{b}");
}

async fn boom() -> &'static str {
    let stack: Vec<&str> = Vec::new();
    stack.get(3).copied().expect("a deliberate panic")
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_router_keeps_serving() {
    let app: Router = Router::new()
        .route("/boom", get(boom))
        .route("/fine", get(|| async { "ok" }))
        .layer(ibrat_http::panic::catch_panics());
    let res = app.clone().oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = json_body(res).await;
    assert_eq!(body["error"]["code"], "internal", "{body}");
    let res = app.oneshot(Request::get("/fine").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

fn login_from(ip: &str, email: &str, password: &str) -> Request<Body> {
    let mut req =
        common::request("POST", "/api/auth/login", None, Some(json!({ "email": email, "password": password })));
    req.extensions_mut().insert(ClientIp(ip.parse().expect("an address")));
    req
}

/// Security probe (#14): parallel guesses cannot slip past the count; at
/// most the free attempts reach the password check, the rest are 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_logins_cannot_outrun_the_throttle() {
    let h = Harness::new();
    h.user("sp@example.com", Role::Salesperson).await;
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let app = h.app.clone();
            let req = login_from("192.0.2.1", "sp@example.com", &format!("wrong-password-{i}"));
            tokio::spawn(async move { app.oneshot(req).await.expect("infallible").status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap().as_u16());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + throttled, 40, "{statuses:?}");
    assert!((1..=ACCOUNT_FREE_FAILURES as usize).contains(&checked), "{checked} guesses were checked");
    // The account is locked now, even for the right password.
    let res = h.send(login_from("192.0.2.1", "sp@example.com", PASSWORD)).await;
    assert_eq!(res.status(), 429);
}

/// Security probe (#14): a valid account's success does not wipe the
/// address's record of guesses at other accounts.
#[tokio::test]
async fn a_success_does_not_reset_the_address() {
    let h = Harness::new();
    h.user("mine@example.com", Role::Salesperson).await;
    let ip = "192.0.2.7";
    for i in 0..ADDRESS_FREE_FAILURES - 2 {
        let res = h.send(login_from(ip, &format!("victim{i}@example.com"), "guess-guess-guess")).await;
        assert_eq!(res.status(), 401);
    }
    let res = h.send(login_from(ip, "mine@example.com", PASSWORD)).await;
    assert_eq!(res.status(), 200, "the sprayer's own account signs in");
    for last in ["victim-19@example.com", "victim-20@example.com"] {
        let res = h.send(login_from(ip, last, "guess-guess-guess")).await;
        assert_eq!(res.status(), 401, "guesses 19 and 20 are checked; the twentieth locks the address");
    }
    let res = h.send(login_from(ip, "victim-next@example.com", "guess-guess-guess")).await;
    assert_eq!(res.status(), 429, "the count survived the success");
    // Another address is not affected, and a success still clears its account.
    let res = h.send(login_from("192.0.2.8", "mine@example.com", PASSWORD)).await;
    assert_eq!(res.status(), 200);
}

/// Security probe (#14): an over-large body is refused before it is read
/// into memory, in the error shape.
#[tokio::test]
async fn oversized_login_bodies_are_refused() {
    let h = Harness::new();
    let body = json!({ "email": "a@example.com", "password": "x".repeat(2 * 1024 * 1024) });
    let (s, b) = h.call("POST", "/api/auth/login", None, Some(body)).await;
    assert_eq!((s, b["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")), "{b}");
}
