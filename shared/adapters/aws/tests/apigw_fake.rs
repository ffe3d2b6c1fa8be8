//! `ApiGatewaySender` against a tiny fake of the management API that keeps
//! real connection state, so the full connections suite runs (moto accepts
//! posts to any id, so it cannot prove the Gone paths) and every way API
//! Gateway can fail is mapped as the port promises.

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_apigatewaymanagement::config::Credentials;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use ibrat_aws::ApiGatewaySender;
use ibrat_ports::conformance::connections::{self as suite, ConnectionHarness};
use ibrat_ports::{ConnectionSender, PostError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const STAGE: &str = "prod";

#[derive(Clone, Default)]
struct Gateway {
    /// Live connections and what has been posted to each.
    connections: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    /// Whether Gone carries API Gateway's error type or is a bare 410.
    typed_gone: bool,
    next: Arc<AtomicU32>,
}

fn error(status: StatusCode, error_type: &str) -> Response {
    (status, [("x-amzn-ErrorType", error_type)], format!("{{\"message\":\"{error_type}\"}}")).into_response()
}

impl Gateway {
    fn gone(&self) -> Response {
        if self.typed_gone {
            error(StatusCode::GONE, "GoneException")
        } else {
            StatusCode::GONE.into_response()
        }
    }
}

async fn post_to_connection(
    State(gw): State<Gateway>,
    Path((stage, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if stage != STAGE {
        return StatusCode::NOT_FOUND.into_response();
    }
    match id.as_str() {
        "forbidden" => return error(StatusCode::FORBIDDEN, "ForbiddenException"),
        "broken" => return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerErrorException"),
        _ => {}
    }
    let mut connections = gw.connections.lock().unwrap();
    match connections.get_mut(&id) {
        Some(received) => {
            received.extend_from_slice(&body);
            (StatusCode::OK, "{}").into_response()
        }
        None => gw.gone(),
    }
}

async fn delete_connection(State(gw): State<Gateway>, Path((_stage, id)): Path<(String, String)>) -> Response {
    match gw.connections.lock().unwrap().remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => gw.gone(),
    }
}

#[async_trait]
impl ConnectionHarness for Gateway {
    async fn connect(&self) -> String {
        let id = format!("conn-{}=", self.next.fetch_add(1, Ordering::Relaxed));
        self.connections.lock().unwrap().insert(id.clone(), Vec::new());
        id
    }

    async fn received(&self, connection_id: &str) -> Vec<u8> {
        self.connections.lock().unwrap().get(connection_id).cloned().unwrap_or_default()
    }
}

/// Serves the fake and returns a sender pointed at its stage URL.
async fn start(gw: Gateway) -> ApiGatewaySender {
    let app = Router::new()
        .route("/{stage}/@connections/{id}", post(post_to_connection).delete(delete_connection))
        .with_state(gw);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    ApiGatewaySender::new(&sdk_config().await, format!("http://{addr}/{STAGE}"))
}

async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "fake-gateway"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

#[tokio::test]
async fn conformance_with_typed_gone() {
    let gw = Gateway { typed_gone: true, ..Gateway::default() };
    let sender = start(gw.clone()).await;
    suite::run_all(&sender, &gw).await;
}

#[tokio::test]
async fn conformance_with_bare_410() {
    let gw = Gateway::default();
    let sender = start(gw.clone()).await;
    suite::run_all(&sender, &gw).await;
}

#[tokio::test]
async fn a_200_is_success_and_delivers_the_bytes() {
    let gw = Gateway::default();
    let sender = start(gw.clone()).await;
    let id = gw.connect().await;
    sender.post(&id, &[0, 159, 146, 150]).await.expect("binary payloads pass through");
    assert_eq!(gw.received(&id).await, vec![0, 159, 146, 150]);
}

#[tokio::test]
async fn other_errors_are_failures_not_gone() {
    let sender = start(Gateway::default()).await;
    for id in ["forbidden", "broken"] {
        match sender.post(id, b"x").await {
            Err(PostError::Failed(detail)) => assert!(!detail.is_empty()),
            other => panic!("{id}: expected Failed, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn unreachable_endpoint_is_a_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let sender = ApiGatewaySender::new(&sdk_config().await, format!("http://{addr}/{STAGE}"));
    assert!(matches!(sender.post("c1", b"x").await, Err(PostError::Failed(_))));
    sender.close("c1").await;
}
