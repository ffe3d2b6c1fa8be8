//! The Lambda entry: real API Gateway HTTP API (payload v2) events go
//! through lambda_http exactly as in production (`Adapter`, the service
//! `lambda_http::run` wraps), into the router over local adapters, and come
//! back as v2 responses.

use std::time::Duration as StdDuration;

use http_body_util::BodyExt;
use ibrat_domain::Role;
use ibrat_services::auth::{jwt, EnsureAdmin};
use ibrat_services::{repo, Deps};
use ibrat_testkit::TestDeps;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;
use tower::ServiceExt;

/// The kit's system (domain time pinned inside the calling window, never
/// the wall clock) with the CORS origin the fixtures come from.
fn kit() -> TestDeps {
    TestDeps::builder().config(|c| c.cors_origins = vec!["https://app.example.com".into()]).build()
}

fn fixture(name: &str) -> String {
    ibrat_testkit::lambda::fixture(&format!("api/{name}"))
}

/// Runs one event through lambda_http's adapter; returns the v2 response.
async fn invoke(deps: &Deps, event: &str) -> Value {
    let request: LambdaRequest = serde_json::from_str(event).expect("a valid v2 event");
    let mut adapter = Adapter::from(fn_api::app(deps.clone()));
    let response = adapter.call(LambdaEvent::new(request, Context::default())).await.expect("the router never fails");
    serde_json::to_value(response).expect("responses serialise")
}

fn body_json(response: &Value) -> Value {
    let body = response["body"].as_str().unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn health_event_answers_200_with_security_headers() {
    let kit = kit();
    let deps = kit.deps.clone();
    let res = invoke(&deps, &fixture("health_v2.json")).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(body_json(&res)["status"], "ok");
    assert_eq!(res["headers"]["x-content-type-options"], "nosniff");
    assert_eq!(res["headers"]["cache-control"], "no-store");
}

#[tokio::test]
async fn login_event_with_a_base64_body_signs_in_the_bootstrapped_admin() {
    let kit = kit();
    let deps = kit.deps.clone();
    let made =
        fn_api::bootstrap_admin(&deps, Some("admin@example.com"), Some("correct-horse-battery"), None).await.unwrap();
    assert!(matches!(made, Some(EnsureAdmin::Created(_))));
    let again =
        fn_api::bootstrap_admin(&deps, Some("admin@example.com"), Some("correct-horse-battery"), None).await.unwrap();
    assert_eq!(again, Some(EnsureAdmin::AlreadyPresent));
    assert_eq!(fn_api::bootstrap_admin(&deps, None, None, None).await.unwrap(), None);
    let res = invoke(&deps, &fixture("login_v2.json")).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    let body = body_json(&res);
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3));
    assert_eq!(res["headers"]["access-control-allow-origin"], "https://app.example.com");
    // The failure is counted against the address API Gateway saw
    // (`requestContext.http.sourceIp`), not a forged `X-Forwarded-For`.
    let wrong = fixture("login_v2.json")
        .replace(
            "eyJlbWFpbCI6ImFkbWluQGV4YW1wbGUuY29tIiwicGFzc3dvcmQiOiJjb3JyZWN0LWhvcnNlLWJhdHRlcnkifQ==",
            "eyJlbWFpbCI6ImFkbWluQGV4YW1wbGUuY29tIiwicGFzc3dvcmQiOiJ3cm9uZy1ob3JzZS1iYXR0ZXJ5In0=",
        )
        .replace("\"content-length\": \"64\",", "")
        .replace("\"x-forwarded-for\": \"198.51.100.7\"", "\"x-forwarded-for\": \"203.0.113.9\"");
    let res = invoke(&deps, &wrong).await;
    assert_eq!(res["statusCode"], 401, "{res}");
    assert_eq!(body_json(&res)["error"]["code"], "invalid_credentials");
    assert!(wrong.contains("203.0.113.9"), "the fixture's header was replaced");
    let throttle = repo::throttle::get(deps.store.as_ref(), "ip:198.51.100.7").await.unwrap();
    assert_eq!(throttle.failures, 1);
    let forged = repo::throttle::get(deps.store.as_ref(), "ip:203.0.113.9").await.unwrap();
    assert_eq!(forged.failures, 0);
}

#[tokio::test]
async fn authenticated_event_with_a_query_string_lists_leads() {
    let kit = kit();
    let deps = kit.deps.clone();
    let event = fixture("leads_v2.json");
    let res = invoke(&deps, &event).await;
    assert_eq!(res["statusCode"], 401, "a placeholder token is refused: {res}");
    let admin = {
        fn_api::bootstrap_admin(&deps, Some("admin@example.com"), Some("correct-horse-battery"), None).await.unwrap();
        repo::users::list_all(deps.store.as_ref()).await.unwrap().remove(0).user
    };
    let token = jwt::issue(
        deps.config.jwt_secret.expose().as_bytes(),
        &admin.id,
        Role::Admin,
        deps.clock.now(),
        StdDuration::from_secs(900),
    )
    .unwrap()
    .0;
    let res = invoke(&deps, &event.replace("{{TOKEN}}", &token)).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(body_json(&res)["items"], Value::Array(vec![]));
}

#[tokio::test]
async fn malformed_body_event_gets_the_json_error_shape() {
    let kit = kit();
    let deps = kit.deps.clone();
    let request = lambda_http::request::from_str(&fixture("bad_json_v2.json")).expect("a valid v2 event");
    let response = fn_api::app(deps).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 400);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["error"]["code"], "malformed_json");
}
