//! Exports through the `api` Lambda's router: written to object storage
//! (whatever their size; `lambda_http` would buffer them and API Gateway
//! refuses more than 6 MB) and answered with a presigned download link.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::TryStreamExt;
use http_body_util::BodyExt;
use ibrat_domain::Role;
use ibrat_services::auth::jwt;
use ibrat_services::export;
use ibrat_testkit::{lead, user, TestDeps, PUBLIC_URL};
use serde_json::Value;
use tower::ServiceExt;

/// A signed-in admin's access token.
async fn admin_token(kit: &TestDeps) -> String {
    let admin = user("admin@example.com", Role::Admin, kit.now()).store(kit.store.as_ref()).await;
    let secret = kit.deps.config.jwt_secret.expose().as_bytes().to_vec();
    jwt::issue(&secret, &admin.id, Role::Admin, kit.now(), Duration::from_secs(900)).unwrap().0
}

async fn get(kit: &TestDeps, token: &str, path: &str) -> (StatusCode, Value) {
    let req = Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    let res = fn_api::app(kit.deps.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn stored(kit: &TestDeps, url: &str) -> Vec<u8> {
    let key = url.strip_prefix(&format!("{PUBLIC_URL}/uploads/")).expect("a link into the blob store");
    assert!(key.starts_with("exports/"), "{key}");
    let chunks: Vec<bytes::Bytes> = kit.deps.blobs.get_stream(key).await.unwrap().try_collect().await.unwrap();
    chunks.concat()
}

#[tokio::test]
async fn the_leads_export_is_stored_and_answered_with_a_link() {
    let kit = TestDeps::new();
    for n in 1..=3 {
        lead(n, kit.now()).notes("=HYPERLINK(\"x\")").store(kit.store.as_ref()).await;
    }
    let token = admin_token(&kit).await;
    let (status, link) = get(&kit, &token, "/api/leads/export").await;
    assert_eq!(status, StatusCode::OK, "{link}");
    assert_eq!(link["file_name"], "leads.csv");
    assert_eq!(link["expires_in_secs"], 900);
    let url = link["download_url"].as_str().unwrap();
    let file = stored(&kit, url).await;
    assert_eq!(link["bytes"].as_u64(), Some(file.len() as u64));
    let expected: Vec<bytes::Bytes> = export::leads_csv(kit.deps.store.clone()).try_collect().await.unwrap();
    assert_eq!(file, expected.concat(), "the stored file is the streamed export");
    let text = String::from_utf8(file).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text.contains("'=HYPERLINK"), "cells stay escaped against formulas");
}

#[tokio::test]
async fn the_calls_export_is_stored_and_a_bad_range_still_refused() {
    let kit = TestDeps::new();
    let token = admin_token(&kit).await;
    let (status, link) = get(&kit, &token, "/api/calls/export?from=2026-01-02&to=2026-01-01").await;
    assert_eq!((status, link["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_failed")));
    let (status, link) = get(&kit, &token, "/api/calls/export").await;
    assert_eq!(status, StatusCode::OK, "{link}");
    assert_eq!(link["file_name"], "calls.csv");
    let file = stored(&kit, link["download_url"].as_str().unwrap()).await;
    assert_eq!(file, export::csv_line(export::CALL_HEADER));
}
