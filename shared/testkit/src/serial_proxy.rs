//! Moto's one deviation the tests must work around: it serves each request
//! on its own thread with no lock around its tables, so two conditional
//! writes to one item can interleave (lost increments, two winning creates),
//! which real DynamoDB never does. The adapters rely only on DynamoDB's
//! per-item atomicity; tests reach moto's DynamoDB through this proxy.

use std::sync::Arc;

/// Starts a loopback proxy that forwards requests to `upstream` one at a
/// time; returns its URL, to use as the SDK endpoint.
pub async fn serialized(upstream: &str) -> String {
    let upstream = upstream.to_owned();
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (upstream, lock, http) = (upstream.clone(), lock.clone(), http.clone());
        async move { forward(&upstream, &lock, &http, request).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("proxy") });
    format!("http://{addr}")
}

/// Forwards one request to moto while holding the lock.
async fn forward(
    upstream: &str,
    lock: &tokio::sync::Mutex<()>,
    http: &reqwest::Client,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return axum::http::StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers;
    headers.remove(axum::http::header::HOST);
    headers.remove(axum::http::header::CONTENT_LENGTH);
    let _one_at_a_time = lock.lock().await;
    let sent = http.request(parts.method, format!("{upstream}{path}")).headers(headers).body(body).send().await;
    let Ok(response) = sent else {
        return axum::http::StatusCode::BAD_GATEWAY.into_response();
    };
    let status = response.status();
    let mut headers = response.headers().clone();
    headers.remove(axum::http::header::TRANSFER_ENCODING);
    headers.remove(axum::http::header::CONTENT_LENGTH);
    match response.bytes().await {
        Ok(bytes) => (status, headers, bytes).into_response(),
        Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
    }
}
