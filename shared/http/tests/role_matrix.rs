//! The role matrix: every route of `ibrat_http::api::ROUTES` times {no
//! token, expired, tampered signature, alg none, salesperson, another
//! salesperson, admin} gets exactly the status its access rule promises.
//! Each case runs on a fresh fixture, so writes of one case cannot affect
//! another. A route without a request recipe here fails the test.

mod common;

use axum::http::Method;
use chrono::Duration;
use common::{Harness, NowUtc, PASSWORD};
use ibrat_domain::{Call, Lead, LeadStatus, Role, User};
use ibrat_http::api::{Access, ROUTES};
use ibrat_services::auth::jwt;
use ibrat_services::repo;
use serde_json::{json, Value};

struct Fixture {
    h: Harness,
    admin: User,
    sp1: User,
    sp2: User,
    lead: Lead,
    lead2: Lead,
    call: Call,
    refresh: String,
    import_id: String,
}

async fn fixture() -> Fixture {
    let h = Harness::new();
    let admin = h.user("admin@example.com", Role::Admin).await;
    let sp1 = h.user("sp1@example.com", Role::Salesperson).await;
    let sp2 = h.user("sp2@example.com", Role::Salesperson).await;
    // Salespeople with phones, so starting a session calls them.
    for (sp, phone) in [(&sp1, "+998911110001"), (&sp2, "+998911110002")] {
        let phone = ibrat_domain::Phone::parse_e164(phone).unwrap();
        let changes = repo::users::UserChanges::new(h.clock.now_utc()).phone(Some(&phone));
        repo::users::update(h.deps.store.as_ref(), &sp.id, changes).await.unwrap().unwrap();
    }
    let lead = h.lead("+998901234567", LeadStatus::Completed, Some(&sp1.id)).await;
    let lead2 = h.lead("+998901234568", LeadStatus::Queued, None).await;
    let call = h.connected_call(&lead, &sp1.id).await;
    let (status, _) =
        h.call("POST", "/api/dnc", Some(&h.token(&admin)), Some(json!({ "phone": "+998905550000" }))).await;
    assert_eq!(status, 201);
    let refresh = h.session(&admin).await.tokens.refresh_token;
    let (status, created) = h.call("POST", "/api/imports", Some(&h.token(&admin)), None).await;
    assert_eq!(status, 201, "{created}");
    let import_id = created["import_id"].as_str().unwrap_or_default().to_owned();
    Fixture { h, admin, sp1, sp2, lead, lead2, call, refresh, import_id }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    NoToken,
    Expired,
    Tampered,
    AlgNone,
    Salesperson,
    OtherSalesperson,
    Admin,
}

const CASES: [Case; 7] = [
    Case::NoToken,
    Case::Expired,
    Case::Tampered,
    Case::AlgNone,
    Case::Salesperson,
    Case::OtherSalesperson,
    Case::Admin,
];

fn token(fx: &Fixture, case: Case) -> Option<String> {
    let h = &fx.h;
    match case {
        Case::NoToken => None,
        Case::Expired => {
            let then = h.clock.now_utc() - Duration::hours(2);
            Some(
                jwt::issue(h.secret(), &fx.admin.id, Role::Admin, then, std::time::Duration::from_secs(900)).unwrap().0,
            )
        }
        Case::Tampered => {
            let t = h.token(&fx.admin);
            let (head, sig) = t.rsplit_once('.').unwrap();
            let mut sig: Vec<char> = sig.chars().collect();
            sig[5] = if sig[5] == 'A' { 'B' } else { 'A' };
            Some(format!("{head}.{}", sig.into_iter().collect::<String>()))
        }
        Case::AlgNone => {
            let t = h.token(&fx.admin);
            let payload = t.split('.').nth(1).unwrap();
            // {"alg":"none","typ":"JWT"}
            Some(format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."))
        }
        Case::Salesperson => Some(h.token(&fx.sp1)),
        Case::OtherSalesperson => Some(h.token(&fx.sp2)),
        Case::Admin => Some(h.token(&fx.admin)),
    }
}

/// The concrete request for a route (path, body) and its success status;
/// resources belong to the first salesperson.
fn recipe(fx: &Fixture, method: &Method, path: &str, case: Case) -> Option<(String, Option<Value>, u16)> {
    let me = match case {
        Case::OtherSalesperson => &fx.sp2,
        Case::Admin => &fx.admin,
        _ => &fx.sp1,
    };
    let sp1 = fx.sp1.id.to_string();
    let lead = fx.lead.id.to_string();
    let call = fx.call.id.to_string();
    let r = match (method.as_str(), path) {
        ("GET", "/api/health") => (path.into(), None, 200),
        ("GET", "/api/openapi.json") => (path.into(), None, 200),
        ("POST", "/api/auth/login") => {
            (path.into(), Some(json!({ "email": me.email.as_str(), "password": PASSWORD })), 200)
        }
        ("POST", "/api/auth/refresh") => (path.into(), Some(json!({ "refresh_token": fx.refresh })), 200),
        ("POST", "/api/auth/logout") => (path.into(), Some(json!({ "refresh_token": fx.refresh })), 204),
        ("GET", "/api/auth/profile") => (path.into(), None, 200),
        ("PATCH", "/api/auth/profile") => (path.into(), Some(json!({ "name": "Renamed" })), 200),
        ("POST", "/api/auth/password") => {
            (path.into(), Some(json!({ "current_password": PASSWORD, "new_password": "another-password-123" })), 200)
        }
        ("POST", "/api/auth/register") => (
            path.into(),
            Some(
                json!({ "email": "new@example.com", "password": "long-enough-pw", "name": "New", "role": "salesperson" }),
            ),
            201,
        ),
        ("GET", "/api/users") => (path.into(), None, 200),
        ("GET", "/api/users/{id}") => (format!("/api/users/{sp1}"), None, 200),
        ("PATCH", "/api/users/{id}") => (format!("/api/users/{sp1}"), Some(json!({ "name": "X" })), 200),
        ("POST", "/api/users/{id}/deactivate") => (format!("/api/users/{sp1}/deactivate"), None, 200),
        ("POST", "/api/users/{id}/password") => {
            (format!("/api/users/{sp1}/password"), Some(json!({ "new_password": "reset-by-an-admin" })), 200)
        }
        ("GET", "/api/users/{id}/stats") => (format!("/api/users/{sp1}/stats"), None, 200),
        ("PUT", "/api/users/{id}/availability") => {
            (format!("/api/users/{sp1}/availability"), Some(json!({ "availability": "away" })), 200)
        }
        ("GET", "/api/leads") => (path.into(), None, 200),
        ("POST", "/api/leads") => (path.into(), Some(json!({ "name": "New", "phone": "+998901112233" })), 201),
        ("GET", "/api/leads/stats/summary") => (path.into(), None, 200),
        ("POST", "/api/leads/bulk/priority") => {
            (path.into(), Some(json!({ "ids": [lead], "priority": "urgent" })), 200)
        }
        ("POST", "/api/leads/bulk/requeue") => (path.into(), Some(json!({ "ids": [lead] })), 200),
        ("GET", "/api/leads/{id}") => (format!("/api/leads/{lead}"), None, 200),
        ("PATCH", "/api/leads/{id}") => (format!("/api/leads/{lead}"), Some(json!({ "notes": "hi" })), 200),
        ("DELETE", "/api/leads/{id}") => (format!("/api/leads/{lead}"), None, 204),
        ("GET", "/api/calls") => (path.into(), None, 200),
        ("POST", "/api/calls/initiate") => (path.into(), Some(json!({ "lead_id": fx.lead2.id })), 202),
        ("GET", "/api/calls/{id}") => (format!("/api/calls/{call}"), None, 200),
        ("POST", "/api/calls/{id}/disposition") => {
            (format!("/api/calls/{call}/disposition"), Some(json!({ "outcome": "interested" })), 200)
        }
        // Only salespeople have sessions; nobody in the fixture has one open
        // or is on a call.
        ("POST", "/api/session") => (path.into(), None, if case == Case::Admin { 403 } else { 202 }),
        ("GET", "/api/session") => (path.into(), None, 200),
        ("DELETE", "/api/session") => (path.into(), None, 409),
        ("POST", "/api/session/hangup") => (path.into(), None, 409),
        ("GET", "/api/dnc") => (path.into(), None, 200),
        ("POST", "/api/dnc") => (path.into(), Some(json!({ "phone": "+998901119999" })), 201),
        ("DELETE", "/api/dnc/{phone}") => ("/api/dnc/%2B998905550000".into(), None, 204),
        ("GET", "/api/settings") => (path.into(), None, 200),
        ("PUT", "/api/settings") => (path.into(), Some(json!({ "ring_timeout_secs": 45 })), 200),
        ("GET", "/api/leads/export") => (path.into(), None, 200),
        ("GET", "/api/calls/export") => (path.into(), None, 200),
        // A string body is sent as `text/csv`.
        ("POST", "/api/leads/upload-csv") => (path.into(), Some(Value::String("phone\n901112244\n".into())), 200),
        ("POST", "/api/imports") => (path.into(), Some(json!({ "file_name": "leads.csv" })), 201),
        ("GET", "/api/imports") => (path.into(), None, 200),
        ("GET", "/api/imports/{id}") => (format!("/api/imports/{}", fx.import_id), None, 200),
        ("GET", "/api/imports/{id}/errors.csv") => (format!("/api/imports/{}/errors.csv", fx.import_id), None, 200),
        _ => return None,
    };
    Some(r)
}

fn expected(access: Access, case: Case, success: u16) -> u16 {
    match (access, case) {
        (Access::Public, _) => success,
        (_, Case::NoToken | Case::Expired | Case::Tampered | Case::AlgNone) => 401,
        (Access::Admin, Case::Salesperson | Case::OtherSalesperson) => 403,
        (Access::Owner, Case::OtherSalesperson) => 404,
        _ => success,
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_its_access_rule_says() {
    let mut failures = Vec::new();
    for spec in ROUTES {
        for case in CASES {
            let fx = fixture().await;
            let Some((path, body, success)) = recipe(&fx, &spec.method, spec.path, case) else {
                failures.push(format!("{spec:?}: no request recipe in the role-matrix test"));
                break;
            };
            let want = expected(spec.access, case, success);
            let tok = token(&fx, case);
            let (status, json) = match body {
                Some(Value::String(csv)) => fx.h.call_csv(&path, tok.as_deref(), csv).await,
                body => fx.h.call(spec.method.as_str(), &path, tok.as_deref(), body).await,
            };
            if status.as_u16() != want {
                failures.push(format!("{spec:?} as {case:?}: got {status}, want {want}: {json}"));
            } else if status.as_u16() >= 400 && json["error"]["code"].as_str().is_none() {
                failures.push(format!("{spec:?} as {case:?}: error body is not the JSON shape: {json}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
