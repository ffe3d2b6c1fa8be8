//! The end-to-end harness: the whole local system started in-process on
//! port 0 with a temporary data directory and the Twilio simulator, driven
//! only through its public faces (HTTP with reqwest, WebSocket with
//! tokio-tungstenite), as a client would.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ibrat::{RunningSystem, ServeOptions};
use ibrat_services::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use twilio_sim::SimConfig;

/// The admin every test system starts with.
pub const ADMIN_EMAIL: &str = "admin@e2e.test";
/// The password of every user the tests create.
pub const PASSWORD: &str = "e2e-password-123";

/// A running local system and an HTTP client for it.
pub struct TestSystem {
    pub system: RunningSystem,
    pub http: reqwest::Client,
    _data_dir: tempfile::TempDir,
}

impl TestSystem {
    /// Starts the system on 127.0.0.1:0 with the simulator behaving as `sim`.
    pub async fn start(sim: SimConfig) -> Self {
        // Logs of the system under test, when `RUST_LOG` asks for them.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_tests();
        config.public_url = String::new();
        let mut options = ServeOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir.path(), config);
        options.sim = sim;
        options.admin = Some((ADMIN_EMAIL.into(), PASSWORD.into()));
        options.scheduler_period = Duration::from_millis(500);
        let system = ibrat::start(options).await.expect("the local system starts");
        TestSystem { system, http: reqwest::Client::new(), _data_dir: data_dir }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.system.base_url())
    }

    /// Sends a request (JSON body optional) and reads status and JSON body
    /// (Null when empty, a string when not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("the server answers")).await
    }

    /// Signs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = json!({ "email": email, "password": password });
        let (status, answer) = self.call(Method::POST, "/api/auth/login", None, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {answer}");
        answer["access_token"].as_str().expect("an access token").to_owned()
    }

    /// Creates a salesperson as the admin; returns their id.
    pub async fn create_salesperson(&self, admin: &str, email: &str, phone: &str) -> String {
        let body =
            json!({ "email": email, "password": PASSWORD, "name": email, "role": "salesperson", "phone": phone });
        let (status, user) = self.call(Method::POST, "/api/auth/register", Some(admin), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user["id"].as_str().expect("a user id").to_owned()
    }

    /// Uploads a CSV body to the import route.
    pub async fn upload_csv(&self, token: &str, csv: String) -> (StatusCode, Value) {
        let req = self
            .http
            .post(self.url("/api/leads/upload-csv"))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv);
        read(req.send().await.expect("the server answers")).await
    }

    /// Opens the WebSocket with `token`.
    pub async fn ws(&self, token: &str) -> WsClient {
        let url = format!("{}?token={token}", self.system.ws_url());
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("the WebSocket opens");
        WsClient { stream }
    }

    /// Every call in the last day, all pages.
    pub async fn all_calls(&self, admin: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/calls?limit=100&cursor={c}"),
                None => "/api/calls?limit=100".to_owned(),
            };
            let (status, page) = self.call(Method::GET, &path, Some(admin), None).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let bytes = res.bytes().await.expect("a body");
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

/// A WebSocket client speaking the JSON protocol.
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Sends one JSON message.
    pub async fn send(&mut self, message: Value) {
        self.stream.send(Message::text(message.to_string())).await.expect("the message is sent");
    }

    /// The next JSON message, or None when the socket closes or `wait` passes.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??;
            match frame.ok()? {
                Message::Text(t) => return serde_json::from_str(t.as_str()).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The first message matching `pred` within `wait`, skipping others.
    pub async fn until(&mut self, wait: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.next(left).await?;
            if pred(&message) {
                return Some(message);
            }
        }
    }

    /// Splits off the raw stream (for tasks that own the socket).
    pub fn into_inner(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.stream
    }
}

/// Polls `check` every `every` until it yields a value or `limit` passes.
pub async fn wait_for<T, F, Fut>(limit: Duration, every: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}
