//! The Lambda entry: real API Gateway HTTP API (payload v2) events go
//! through lambda_http exactly as in production (`Adapter`, the service
//! `lambda_http::run` wraps), into the router over local adapters, and come
//! back as v2 responses.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use http_body_util::BodyExt;
use ibrat_domain::Role;
use ibrat_local::{MemQueue, RedbStore};
use ibrat_ports::{
    BlobError, BlobStore, CallInstruction, CreateCall, ManualClock, NoConnections, NullPublisher, PlacedCall,
    RemoteCall, Telephony, TelephonyError,
};
use ibrat_services::auth::{jwt, EnsureAdmin};
use ibrat_services::{repo, Config, Deps};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;
use tower::ServiceExt;

struct NoTelephony;

#[async_trait]
impl Telephony for NoTelephony {
    async fn create_call(&self, _req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        Err(TelephonyError::Unavailable("not in tests".into()))
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

struct NoBlobs;

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

fn deps() -> Deps {
    // Domain time is pinned (a Tuesday, 11:00 in Tashkent), never the wall clock.
    let pinned = chrono::DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let clock = Arc::new(ManualClock::new(pinned));
    Deps {
        store: Arc::new(RedbStore::in_memory().unwrap().with_clock(clock.clone())),
        queue: Arc::new(MemQueue::new()),
        events: Arc::new(NullPublisher),
        connections: Arc::new(NoConnections),
        telephony: Arc::new(NoTelephony),
        blobs: Arc::new(NoBlobs),
        clock,
        config: Arc::new(Config { cors_origins: vec!["https://app.example.com".into()], ..Config::for_tests() }),
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
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
    let deps = deps();
    let res = invoke(&deps, &fixture("health_v2.json")).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(body_json(&res)["status"], "ok");
    assert_eq!(res["headers"]["x-content-type-options"], "nosniff");
    assert_eq!(res["headers"]["cache-control"], "no-store");
}

#[tokio::test]
async fn login_event_with_a_base64_body_signs_in_the_bootstrapped_admin() {
    let deps = deps();
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
    let deps = deps();
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
    let deps = deps();
    let request = lambda_http::request::from_str(&fixture("bad_json_v2.json")).expect("a valid v2 event");
    let response = fn_api::app(deps).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 400);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["error"]["code"], "malformed_json");
}
