//! Behaviour at the edges and through the features: error shapes for every
//! kind of bad request, limits and headers, authentication flows
//! (throttling, refresh rotation and reuse, deactivation), and the main
//! lead, call, availability, do-not-call and settings paths.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use chrono::Duration;
use common::{Harness, NowUtc, PASSWORD};
use ibrat_domain::{Availability, EventKind, LeadStatus, Role, UserId};
use ibrat_http::api::{ApiDoc, ROUTES};
use ibrat_services::auth::{ensure_admin, EnsureAdmin};
use ibrat_services::{repo, Config};
use serde_json::{json, Value};
use utoipa::OpenApi;

#[tokio::test]
async fn malformed_unknown_and_mistyped_bodies_get_json_errors() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let t = h.token(&admin);
    let raw = |body: &str, ct: Option<&str>| {
        let mut b = Request::builder().method("POST").uri("/api/leads").header("authorization", format!("Bearer {t}"));
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(Body::from(body.to_owned())).unwrap()
    };
    let res = h.send(raw("{not json", Some("application/json"))).await;
    assert_eq!(res.status(), 400);
    assert_eq!(common::json_body(res).await["error"]["code"], "malformed_json");
    let res = h.send(raw(r#"{"phone":"+998901234567","bogus":1}"#, Some("application/json"))).await;
    assert_eq!(res.status(), 400);
    let body = common::json_body(res).await;
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("bogus"), "{body}");
    let res = h.send(raw(r#"{"phone":42}"#, Some("application/json"))).await;
    assert_eq!(res.status(), 400);
    let res = h.send(raw(r#"{"phone":"+998901234567"}"#, Some("text/plain"))).await;
    assert_eq!(res.status(), 415);
    assert_eq!(common::json_body(res).await["error"]["code"], "unsupported_media_type");
    let (s, b) = h.call("GET", "/api/leads?bogus=1", Some(&t), None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (400, Some("validation_failed")));
    let (s, b) = h.call("GET", "/api/leads/not-an-id", Some(&t), None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (400, Some("validation_failed")));
    let (s, b) = h.call("GET", "/api/leads?cursor=garbage", Some(&t), None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (400, Some("validation_failed")));
}

#[tokio::test]
async fn unknown_routes_methods_and_huge_bodies_get_json_errors_and_headers() {
    let h = Harness::new();
    let (s, b) = h.call("GET", "/api/nope", None, None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (404, Some("not_found")));
    let (s, b) = h.call("GET", "/elsewhere", None, None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (404, Some("not_found")));
    let (s, b) = h.call("DELETE", "/api/health", None, None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (405, Some("method_not_allowed")));
    let big = format!(r#"{{"email":"a@b.co","password":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let req = Request::builder()
        .method("POST")
        .uri("/api/auth/login")
        .header("content-type", "application/json")
        .header("content-length", big.len())
        .body(Body::from(big))
        .unwrap();
    let res = h.send(req).await;
    assert_eq!(res.status(), 413);
    assert_eq!(common::json_body(res).await["error"]["code"], "payload_too_large");
    let res = h.send(common::request("GET", "/api/health", None, None)).await;
    assert_eq!(res.status(), 200);
    let hd = res.headers();
    assert_eq!(hd["x-content-type-options"], "nosniff");
    assert_eq!(hd["x-frame-options"], "DENY");
    assert_eq!(hd["referrer-policy"], "no-referrer");
    assert_eq!(hd["cache-control"], "no-store");
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let config = Config { cors_origins: vec!["https://app.example.com".into()], ..Config::for_tests() };
    let h = Harness::with_config(config);
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/leads")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .unwrap()
    };
    let res = h.send(preflight("https://app.example.com")).await;
    assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
    let res = h.send(preflight("https://evil.example.com")).await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn login_is_throttled_with_growing_lockouts_and_success_resets() {
    let h = Harness::new();
    h.user("sp@example.com", Role::Salesperson).await;
    let bad = json!({ "email": "sp@example.com", "password": "wrong-password-1" });
    let good = json!({ "email": "sp@example.com", "password": PASSWORD });
    for _ in 0..5 {
        let (s, b) = h.call("POST", "/api/auth/login", None, Some(bad.clone())).await;
        assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    }
    let res = h.send(common::request("POST", "/api/auth/login", None, Some(good.clone()))).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    h.clock.advance(Duration::seconds(2));
    let (s, _) = h.call("POST", "/api/auth/login", None, Some(bad.clone())).await;
    assert_eq!(s, 401);
    let res = h.send(common::request("POST", "/api/auth/login", None, Some(good.clone()))).await;
    assert_eq!(res.headers()["retry-after"], "2", "the lockout doubles");
    h.clock.advance(Duration::seconds(3));
    let (s, b) = h.call("POST", "/api/auth/login", None, Some(good.clone())).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["access_token"].is_string() && b["refresh_token"].is_string());
    assert!(b["user"].get("password_hash").is_none());
    let (s, _) = h.call("POST", "/api/auth/login", None, Some(bad)).await;
    assert_eq!(s, 401, "a success reset the count");
    // Unknown accounts are throttled the same way and say nothing more.
    let (s, b) = h.call("POST", "/api/auth/login", None, Some(json!({ "email": "who@x.io", "password": "p" }))).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (401, Some("invalid_credentials")));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let h = Harness::new();
    let sp = h.user("sp@example.com", Role::Salesperson).await;
    let first = h.session(&sp).await.tokens.refresh_token;
    let (s, b) = h.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": first }))).await;
    assert_eq!(s, 200);
    let second = b["refresh_token"].as_str().unwrap().to_owned();
    let (s, _) = h.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": first }))).await;
    assert_eq!(s, 401, "a used token is refused");
    let (s, _) = h.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": second }))).await;
    assert_eq!(s, 401, "and its reuse revoked the whole family");
    let other = h.session(&sp).await.tokens.refresh_token;
    let (s, _) = h.call("POST", "/api/auth/logout", None, Some(json!({ "refresh_token": other }))).await;
    assert_eq!(s, 204);
    let (s, _) = h.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": other }))).await;
    assert_eq!(s, 401, "logout revokes");
    let late = h.session(&sp).await.tokens.refresh_token;
    h.clock.advance(Duration::days(31));
    let (s, _) = h.call("POST", "/api/auth/refresh", None, Some(json!({ "refresh_token": late }))).await;
    assert_eq!(s, 401, "expired");
}

#[tokio::test]
async fn deactivated_users_and_changed_passwords_lose_their_tokens() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let sp = h.user("sp@example.com", Role::Salesperson).await;
    let (ta, ts) = (h.token(&admin), h.token(&sp));
    let (s, _) = h.call("GET", "/api/auth/profile", Some(&ts), None).await;
    assert_eq!(s, 200);
    let (s, _) = h.call("POST", &format!("/api/users/{}/deactivate", sp.id), Some(&ta), None).await;
    assert_eq!(s, 200);
    let (s, b) = h.call("GET", "/api/auth/profile", Some(&ts), None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (401, Some("account_inactive")));
    let (s, b) = h.call("POST", &format!("/api/users/{}/deactivate", admin.id), Some(&ta), None).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (409, Some("last_admin")));
    let (s, b) =
        h.call("PATCH", &format!("/api/users/{}", admin.id), Some(&ta), Some(json!({ "role": "salesperson" }))).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (409, Some("last_admin")));
    // Password change: the old token stops working, the returned one works.
    h.clock.advance(Duration::seconds(5));
    let body = json!({ "current_password": "wrong-one-here", "new_password": "brand-new-password" });
    let (s, _) = h.call("POST", "/api/auth/password", Some(&ta), Some(body)).await;
    assert_eq!(s, 403);
    let body = json!({ "current_password": PASSWORD, "new_password": "short" });
    let (s, _) = h.call("POST", "/api/auth/password", Some(&ta), Some(body)).await;
    assert_eq!(s, 400);
    let body = json!({ "current_password": PASSWORD, "new_password": "brand-new-password" });
    let (s, b) = h.call("POST", "/api/auth/password", Some(&ta), Some(body)).await;
    assert_eq!(s, 200);
    let fresh = b["access_token"].as_str().unwrap().to_owned();
    let (s, _) = h.call("GET", "/api/auth/profile", Some(&ta), None).await;
    assert_eq!(s, 401);
    let (s, _) = h.call("GET", "/api/auth/profile", Some(&fresh), None).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn an_admin_resets_a_password_and_the_old_one_and_its_tokens_stop_working() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let sp = h.user("sp@example.com", Role::Salesperson).await;
    let ta = h.token(&admin);
    let before = h.session(&sp).await;
    let login = |password: &str| json!({ "email": "sp@example.com", "password": password });
    let path = format!("/api/users/{}/password", sp.id);

    let (s, b) =
        h.call("POST", &path, Some(&before.tokens.access_token), Some(json!({ "new_password": "x".repeat(12) }))).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (403, Some("forbidden")), "{b}");
    let (s, b) = h.call("POST", &path, Some(&ta), Some(json!({ "new_password": "short" }))).await;
    assert_eq!(s, 400, "{b}");
    let unknown = format!("/api/users/{}/password", UserId::new());
    let (s, _) = h.call("POST", &unknown, Some(&ta), Some(json!({ "new_password": "reset-by-admin-1" }))).await;
    assert_eq!(s, 404);

    h.clock.advance(Duration::seconds(5));
    let (s, b) = h.call("POST", &path, Some(&ta), Some(json!({ "new_password": "reset-by-admin-1" }))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["id"], json!(sp.id.to_string()));
    assert!(b.get("password_hash").is_none(), "{b}");

    let (s, _) = h.call("GET", "/api/auth/profile", Some(&before.tokens.access_token), None).await;
    assert_eq!(s, 401, "the salesperson's earlier access token still works");
    let body = json!({ "refresh_token": before.tokens.refresh_token });
    let (s, _) = h.call("POST", "/api/auth/refresh", None, Some(body)).await;
    assert_eq!(s, 401, "the salesperson's earlier refresh token still works");
    let (s, _) = h.call("POST", "/api/auth/login", None, Some(login(PASSWORD))).await;
    assert_eq!(s, 401, "the old password still signs in");
    let (s, b) = h.call("POST", "/api/auth/login", None, Some(login("reset-by-admin-1"))).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn registration_is_admin_only_and_emails_are_unique() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let t = h.token(&admin);
    let body =
        json!({ "email": "New@Example.com", "password": "long-enough-pw", "name": "New", "role": "salesperson" });
    let (s, b) = h.call("POST", "/api/auth/register", Some(&t), Some(body.clone())).await;
    assert_eq!(s, 201);
    assert_eq!(b["email"], "new@example.com");
    assert!(b.get("password").is_none() && b.get("password_hash").is_none());
    let (s, b) = h.call("POST", "/api/auth/register", Some(&t), Some(body)).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (409, Some("email_taken")));
    let weak = json!({ "email": "w@example.com", "password": "short", "name": "W", "role": "admin" });
    let (s, _) = h.call("POST", "/api/auth/register", Some(&t), Some(weak)).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn ensure_admin_is_idempotent_and_race_safe() {
    let h = Harness::new();
    let (a, b) = tokio::join!(
        ensure_admin(&h.deps, "boss@example.com", "boss-password-1", "Boss"),
        ensure_admin(&h.deps, "boss@example.com", "boss-password-1", "Boss"),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, EnsureAdmin::Created(_))).count(), 1, "{outcomes:?}");
    assert_eq!(
        ensure_admin(&h.deps, "boss@example.com", "boss-password-1", "Boss").await.unwrap(),
        EnsureAdmin::AlreadyPresent
    );
    let admins = repo::users::list_all(h.deps.store.as_ref()).await.unwrap();
    assert_eq!(admins.len(), 1);
    let (s, _) = h
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "email": "boss@example.com", "password": "boss-password-1" })),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn leads_are_created_listed_filtered_and_paged() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let t = h.token(&admin);
    let (s, b) = h.call("POST", "/api/leads", Some(&t), Some(json!({ "name": "Ali", "phone": "90 123 45 67" }))).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!((b["status"].as_str(), b["timezone"].as_str()), (Some("queued"), Some("Asia/Tashkent")));
    let (s, b) = h.call("POST", "/api/leads", Some(&t), Some(json!({ "phone": "+998901234567" }))).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (409, Some("lead_exists")));
    let (s, b) = h.call("POST", "/api/leads", Some(&t), Some(json!({ "name": "Joe", "phone": "+14155552671" }))).await;
    assert_eq!(s, 201);
    assert_eq!((b["status"].as_str(), b["hold_reason"].as_str()), (Some("pending"), Some("time zone unknown")));
    let (s, _) = h.call("POST", "/api/leads", Some(&t), Some(json!({ "phone": "12" }))).await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call("POST", "/api/leads", Some(&t), Some(json!({ "phone": "+998901234500", "timezone": "Mars/Base" })))
        .await;
    assert_eq!(s, 400);
    for i in 0..5 {
        h.lead(&format!("+99890765432{i}"), LeadStatus::Completed, None).await;
    }
    // Every lead, two at a time, across status partitions.
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            None => "/api/leads?limit=2".to_owned(),
            Some(c) => format!("/api/leads?limit=2&cursor={c}"),
        };
        let (s, b) = h.call("GET", &path, Some(&t), None).await;
        assert_eq!(s, 200, "{b}");
        for l in b["items"].as_array().unwrap() {
            assert!(seen.insert(l["id"].as_str().unwrap().to_owned()), "no duplicates");
        }
        cursor = b["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 7);
    let (_, b) = h.call("GET", "/api/leads?status=pending", Some(&t), None).await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
    let (_, b) = h.call("GET", "/api/leads?q=joe", Some(&t), None).await;
    assert_eq!(b["items"][0]["name"], "Joe");
    let (_, b) = h.call("GET", "/api/leads?q=4155", Some(&t), None).await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
    let (s, b) = h.call("GET", "/api/leads/stats/summary", Some(&t), None).await;
    assert_eq!(s, 200);
    assert_eq!((b["total"].as_u64(), b["by_status"]["completed"].as_u64()), (Some(7), Some(5)));
    assert_eq!(b["by_priority"]["medium"].as_u64(), Some(7));
}

#[tokio::test]
async fn lead_updates_bulk_changes_and_manual_dials() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let t = h.token(&admin);
    let done = h.lead("+998901234567", LeadStatus::NoMoreAttempts, None).await;
    let id = done.id.to_string();
    let (s, b) = h
        .call("PATCH", &format!("/api/leads/{id}"), Some(&t), Some(json!({ "priority": "urgent", "notes": "vip" })))
        .await;
    assert_eq!(s, 200);
    assert_eq!((b["priority"].as_str(), b["notes"].as_str()), (Some("urgent"), Some("vip")));
    let (s, b) =
        h.call("POST", "/api/leads/bulk/requeue", Some(&t), Some(json!({ "ids": [id, "ld_missing000"] }))).await;
    assert_eq!(s, 200);
    assert_eq!(b["updated"], 1);
    assert_eq!(b["not_found"], json!(["ld_missing000"]));
    let (_, b) = h.call("GET", &format!("/api/leads/{id}"), Some(&t), None).await;
    assert_eq!((b["status"].as_str(), b["attempts"].as_u64()), (Some("queued"), Some(0)));
    assert!(h.drain_queue().await.iter().any(|m| m.contains("nudge")));
    let (s, b) = h.call("POST", "/api/calls/initiate", Some(&t), Some(json!({ "lead_id": id }))).await;
    assert_eq!(s, 202, "{b}");
    let msgs = h.drain_queue().await;
    let dial: Value = serde_json::from_str(msgs.iter().find(|m| m.contains("dial")).unwrap()).unwrap();
    assert_eq!(dial, json!({ "kind": "dial", "lead_id": id, "manual": true }));
    let (s, b) = h.call("PATCH", &format!("/api/leads/{id}"), Some(&t), Some(json!({ "do_not_call": true }))).await;
    assert_eq!((s.as_u16(), b["status"].as_str()), (200, Some("do_not_call")));
    let (_, b) = h.call("GET", "/api/dnc", Some(&t), None).await;
    assert_eq!(b["items"][0]["phone"], "+998901234567");
    let (s, _) = h.call("POST", "/api/calls/initiate", Some(&t), Some(json!({ "lead_id": id }))).await;
    assert_eq!(s, 422);
    let (s, _) = h.call("DELETE", &format!("/api/leads/{id}"), Some(&t), None).await;
    assert_eq!(s, 204);
    let (s, _) = h.call("GET", &format!("/api/leads/{id}"), Some(&t), None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn dispositions_move_the_lead_and_end_wrap_up() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let sp = h.user("sp@example.com", Role::Salesperson).await;
    let ts = h.token(&sp);
    h.open_line(&sp).await;
    let lead = h.lead("+998901234567", LeadStatus::Completed, Some(&sp.id)).await;
    let call = h.connected_call(&lead, &sp.id).await;
    // The salesperson is in wrap-up after the call.
    let upd = repo::users::availability_update(&sp.id, Availability::WrapUp, h.clock.now_utc());
    h.deps.store.update(&repo::keys::user(&sp.id), upd, None).await.unwrap();
    let at = h.clock.now_utc() + Duration::hours(3);
    let body = json!({ "outcome": "call_back", "callback_at": at, "notes": "after lunch" });
    let (s, b) = h.call("POST", &format!("/api/calls/{}/disposition", call.id), Some(&ts), Some(body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["disposition"]["outcome"], "call_back");
    let (_, l) = h.call("GET", &format!("/api/leads/{}", lead.id), Some(&ts), None).await;
    assert_eq!((l["status"].as_str(), l["callback"].as_bool()), (Some("retry_scheduled"), Some(true)));
    assert_eq!(l["calls"].as_array().unwrap().len(), 1);
    let me = repo::users::get(h.deps.store.as_ref(), &sp.id).await.unwrap().unwrap();
    assert_eq!(me.user.availability, Availability::Available, "wrap-up ended early");
    assert!(h.events.0.lock().unwrap().iter().any(|e| matches!(e.kind, EventKind::UserAvailability { .. })));
    let past = json!({ "outcome": "call_back", "callback_at": h.clock.now_utc() - Duration::hours(1) });
    let (s, _) = h.call("POST", &format!("/api/calls/{}/disposition", call.id), Some(&ts), Some(past)).await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call("POST", &format!("/api/calls/{}/disposition", call.id), Some(&ts), Some(json!({ "outcome": "maybe" })))
        .await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call(
            "POST",
            &format!("/api/calls/{}/disposition", call.id),
            Some(&ts),
            Some(json!({ "outcome": "do_not_call" })),
        )
        .await;
    assert_eq!(s, 200);
    let phone = ibrat_domain::Phone::parse_e164("+998901234567").unwrap();
    assert!(repo::dnc::contains(h.deps.store.as_ref(), &phone).await.unwrap());
    let ta = h.token(&admin);
    let (_, l) = h.call("GET", &format!("/api/leads/{}", lead.id), Some(&ta), None).await;
    assert_eq!(l["status"], "do_not_call");
    // Listing: the salesperson sees their call; filters on someone else are refused.
    let (_, b) = h.call("GET", "/api/calls", Some(&ts), None).await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
    let (s, _) = h.call("GET", &format!("/api/calls?salesperson_id={}", admin.id), Some(&ts), None).await;
    assert_eq!(s, 403);
    let (_, b) = h.call("GET", "/api/calls?outcome=connected", Some(&ta), None).await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
    let (_, b) = h.call("GET", &format!("/api/users/{}/stats", sp.id), Some(&ta), None).await;
    assert_eq!((b["calls"].as_u64(), b["connects"].as_u64(), b["talk_secs"].as_u64()), (Some(1), Some(1), Some(120)));
    assert_eq!(b["dispositions"]["do_not_call"], 1);
}

#[tokio::test]
async fn availability_rules_events_and_nudges() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let sp = h.user("sp@example.com", Role::Salesperson).await;
    let ts = h.token(&sp);
    let path = format!("/api/users/{}/availability", sp.id);
    let (s, _) = h.call("PUT", &path, Some(&ts), Some(json!({ "availability": "offline" }))).await;
    assert_eq!(s, 403, "salespeople choose only available or away");
    let (s, _) = h.call("PUT", &path, Some(&ts), Some(json!({ "availability": "on_call" }))).await;
    assert_eq!(s, 400);
    // Ready only with an open line.
    let (s, b) = h.call("PUT", &path, Some(&ts), Some(json!({ "availability": "available" }))).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (409, Some("no_session")), "{b}");
    h.open_line(&sp).await;
    let (s, b) = h.call("PUT", &path, Some(&ts), Some(json!({ "availability": "available" }))).await;
    assert_eq!((s.as_u16(), b["availability"].as_str()), (200, Some("available")));
    assert!(h.drain_queue().await.iter().any(|m| m.contains("nudge")));
    assert_eq!(repo::users::available(h.deps.store.as_ref(), 10).await.unwrap().len(), 1);
    let (s, _) = h
        .call(
            "PUT",
            &format!("/api/users/{}/availability", admin.id),
            Some(&ts),
            Some(json!({ "availability": "away" })),
        )
        .await;
    assert_eq!(s, 404, "someone else's availability reads as not found");
    let (s, b) = h.call("PUT", &path, Some(&h.token(&admin)), Some(json!({ "availability": "offline" }))).await;
    assert_eq!((s.as_u16(), b["availability"].as_str()), (200, Some("offline")));
    assert!(repo::users::available(h.deps.store.as_ref(), 10).await.unwrap().is_empty());
    let (_, b) = h.call("GET", "/api/users?role=salesperson&availability=offline", Some(&h.token(&admin)), None).await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn dnc_adds_move_leads_and_settings_are_validated() {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let t = h.token(&admin);
    let lead = h.lead("+998901234567", LeadStatus::Queued, None).await;
    let (s, b) =
        h.call("POST", "/api/dnc", Some(&t), Some(json!({ "phone": "90 123 45 67", "reason": "asked" }))).await;
    assert_eq!(s, 201);
    assert_eq!((b["lead_id"].as_str(), b["lead_status"].as_str()), (Some(lead.id.as_str()), Some("do_not_call")));
    let (s, _) = h.call("POST", "/api/dnc", Some(&t), Some(json!({ "phone": "+998901234567" }))).await;
    assert_eq!(s, 200, "already listed");
    let (s, _) = h.call("DELETE", "/api/dnc/%2B998901234567", Some(&t), None).await;
    assert_eq!(s, 204);
    let (s, _) = h.call("DELETE", "/api/dnc/%2B998901234567", Some(&t), None).await;
    assert_eq!(s, 404);
    let (s, b) = h.call("PUT", "/api/settings", Some(&t), Some(json!({ "ring_timeout_secs": 10 }))).await;
    assert_eq!((s.as_u16(), b["error"]["code"].as_str()), (400, Some("validation_failed")));
    assert!(b["error"]["message"].as_str().unwrap().contains("ring_timeout_secs"));
    let (s, _) = h.call("PUT", "/api/settings", Some(&t), Some(json!({ "ring_timeout": 30 }))).await;
    assert_eq!(s, 400, "unknown fields are refused");
    let (s, _) = h.call("PUT", "/api/settings", Some(&t), Some(json!({ "ring_timeout_secs": 20 }))).await;
    assert_eq!(s, 200);
    let (_, b) = h.call("GET", "/api/settings", Some(&t), None).await;
    assert_eq!(b["ring_timeout_secs"], 20);
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_route_table() {
    let h = Harness::new();
    let (s, doc) = h.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let table: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_owned())).collect();
    assert_eq!(documented, table);
    assert!(serde_json::to_value(ApiDoc::openapi()).unwrap()["components"]["securitySchemes"]["bearer"].is_object());
}
