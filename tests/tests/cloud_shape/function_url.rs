//! A stand-in for the twilio-webhook function's URL: an HTTP server that
//! turns each request into the Lambda function URL event AWS would deliver
//! (payload 2.0, base64 body, every header including `host` and
//! `x-twilio-signature`), invokes the function's app through `lambda_http`'s
//! adapter exactly as `lambda_http::run` does, and turns the Lambda
//! response back into HTTP.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use ibrat_services::Deps;
use lambda_http::{Adapter, Context, LambdaEvent, Service};

use super::events;

/// Invocations of the function, counted.
#[derive(Debug, Default)]
pub struct Invocations {
    pub total: AtomicUsize,
    /// Responses that were not 2xx.
    pub refused: AtomicUsize,
}

/// Serves the function URL on `listener` with the function built over `deps`.
pub fn serve(listener: tokio::net::TcpListener, deps: Deps) -> Arc<Invocations> {
    let counts = Arc::new(Invocations::default());
    let seen = counts.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (deps, seen) = (deps.clone(), seen.clone());
        async move { invoke(&deps, &seen, request).await }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the function URL serves") });
    counts
}

async fn invoke(deps: &Deps, counts: &Invocations, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 6 * 1024 * 1024).await else {
        // Function URLs refuse payloads over 6 MB with 413.
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    // Function URLs join repeated headers with commas and lower-case names.
    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in &parts.headers {
        let value = value.to_str().unwrap_or_default().to_owned();
        headers.entry(name.as_str().to_owned()).and_modify(|v| *v = format!("{v},{value}")).or_insert(value);
    }
    // Plain HTTP on loopback (a real function URL says https and 443).
    headers.insert("x-forwarded-proto".into(), "http".into());
    let port = headers.get("host").and_then(|h| h.rsplit_once(':')).map_or("80", |(_, p)| p).to_owned();
    headers.insert("x-forwarded-port".into(), port);
    headers.entry("x-forwarded-for".into()).or_insert_with(|| "127.0.0.1".into());
    let event = events::function_url(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        &headers,
        &body,
    );

    counts.total.fetch_add(1, Ordering::Relaxed);
    // lambda_http's adapter is not `Send`; like a Lambda invocation, each
    // request runs on its own thread.
    let (runtime, deps) = (tokio::runtime::Handle::current(), deps.clone());
    let invoked = tokio::task::spawn_blocking(move || runtime.block_on(call(deps, event))).await;
    let response = match invoked {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            // Lambda answers a failed invocation with 502.
            counts.refused.fetch_add(1, Ordering::Relaxed);
            return (axum::http::StatusCode::BAD_GATEWAY, e).into_response();
        }
        Err(e) => panic!("the webhook invocation panicked: {e}"),
    };
    let (status, headers, body) = events::http_response(&response);
    if !(200..300).contains(&status) {
        counts.refused.fetch_add(1, Ordering::Relaxed);
    }
    let mut out = Response::new(axum::body::Body::from(body));
    *out.status_mut() = axum::http::StatusCode::from_u16(status).expect("a valid status");
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(name), axum::http::HeaderValue::try_from(value))
        {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// One invocation of the function, as `lambda_http::run` makes it; the
/// response serialised as Lambda returns it.
async fn call(deps: Deps, event: lambda_http::request::LambdaRequest) -> Result<serde_json::Value, String> {
    let mut adapter = Adapter::from(fn_twilio_webhook::app(deps));
    let response = adapter.call(LambdaEvent::new(event, Context::default())).await.map_err(|e| e.to_string())?;
    serde_json::to_value(response).map_err(|e| e.to_string())
}
