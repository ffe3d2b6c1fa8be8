//! "Our webhooks" for the tests: a tiny server that checks every request's
//! Twilio signature, records what arrived, and answers TwiML the way the
//! dialer does. Behaviour is chosen by the query string of the URLs the test
//! hands the simulator: `mode` picks the TwiML, `hold` parks the request at
//! a stage until the test releases it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use ibrat_twilio::{signature, twiml};
use tokio::sync::{Notify, Semaphore};

/// The salesperson the first `<Dial>` rings.
pub const SALESPERSON: &str = "+15550000001";
/// The one a second `<Dial>` rings in `mode=retry`.
pub const SECOND_SALESPERSON: &str = "+15550000002";

/// One request that reached our webhooks.
#[derive(Debug, Clone)]
pub struct Hook {
    /// `/status`, `/voice`, `/dial`, `/conference` or `/amd`.
    pub path: String,
    /// Form (or GET query) parameters.
    pub params: Vec<(String, String)>,
}

impl Hook {
    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `path` plus the detail that matters: the status for a status
    /// callback, `AnsweredBy` for the voice URL, `DialCallStatus` for a dial action.
    pub fn summary(&self) -> String {
        let detail = match self.path.as_str() {
            "/status" => self.get("CallStatus"),
            "/voice" => self.get("AnsweredBy"),
            "/dial" => self.get("DialCallStatus"),
            "/conference" => self.get("StatusCallbackEvent"),
            "/amd" => self.get("AnsweredBy"),
            _ => None,
        };
        format!("{} {}", self.path, detail.unwrap_or("-"))
    }
}

struct Inner {
    token: String,
    base_url: String,
    hooks: Mutex<Vec<Hook>>,
    bad_signatures: AtomicUsize,
    reached: Notify,
    release: Semaphore,
}

/// The running webhook server.
pub struct Webhooks {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Webhooks {
    /// Serves on a free loopback port, checking signatures with `token`.
    pub async fn start(token: &str) -> std::io::Result<Webhooks> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Inner {
            token: token.to_owned(),
            base_url,
            hooks: Mutex::default(),
            bad_signatures: AtomicUsize::new(0),
            reached: Notify::new(),
            release: Semaphore::new(0),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Webhooks { inner, server })
    }

    /// `http://127.0.0.1:PORT` followed by `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.inner.base_url)
    }

    /// Requests recorded for one call, in arrival order.
    pub fn for_call(&self, sid: &str) -> Vec<Hook> {
        self.all().into_iter().filter(|h| h.get("CallSid") == Some(sid)).collect()
    }

    /// Every request recorded.
    pub fn all(&self) -> Vec<Hook> {
        self.inner.hooks.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Requests whose signature did not check out (answered 403).
    pub fn bad_signatures(&self) -> usize {
        self.inner.bad_signatures.load(Ordering::SeqCst)
    }

    /// Waits until a request has been parked by `hold`; panics (failing
    /// the test) if none arrives within 30 s, rather than hanging.
    pub async fn held(&self) {
        let parked = tokio::time::timeout(Duration::from_secs(30), self.inner.reached.notified()).await;
        assert!(parked.is_ok(), "no request was parked: {} refused signatures", self.bad_signatures());
    }

    /// Lets one parked request answer.
    pub fn release(&self) {
        self.inner.release.add_permits(1);
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!("{}{}", inner.base_url, uri);
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let params: Vec<(String, String)> =
        if method == Method::POST { serde_urlencoded::from_bytes(&body).unwrap_or_default() } else { Vec::new() };
    let sig = headers.get("X-Twilio-Signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !signature::validate(&inner.token, &url, &params, sig) {
        inner.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::FORBIDDEN.into_response();
    }
    let all_params = if method == Method::POST { params } else { query.clone() };
    let hook = Hook { path: uri.path().to_owned(), params: all_params };
    if let Ok(mut hooks) = inner.hooks.lock() {
        hooks.push(hook.clone());
    }
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let stage = match hook.path.as_str() {
        "/status" => hook.get("CallStatus").unwrap_or(""),
        other => other.trim_start_matches('/'),
    };
    if q("hold") == Some(stage) {
        inner.reached.notify_one();
        if let Ok(permit) = inner.release.acquire().await {
            permit.forget();
        }
    }
    answer(&inner, &hook, q("mode").unwrap_or("bridge"), q("n"), q("room").unwrap_or("room-1"))
}

/// The dialer's TwiML for a salesperson's line: their own room, which ends
/// when they leave, reporting every event to `/conference`.
pub fn agent_room(base_url: &str, room: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" beep="false" waitUrl="" statusCallback="{base_url}/conference?kind=agent" statusCallbackEvent="start end join leave">{room}</Conference></Dial></Response>"#
    )
}

/// The dialer's TwiML putting a lead in a salesperson's room.
pub fn lead_room(base_url: &str, room: &str) -> String {
    format!(
        r#"<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="false" beep="false" statusCallback="{base_url}/conference?kind=lead" statusCallbackEvent="join leave">{room}</Conference></Dial></Response>"#
    )
}

/// The TwiML the dialer would answer.
fn answer(inner: &Inner, hook: &Hook, mode: &str, n: Option<&str>, room: &str) -> Response {
    let to = hook.get("To").unwrap_or("");
    let xml = match (hook.path.as_str(), mode) {
        ("/status" | "/conference" | "/amd", _) => return StatusCode::NO_CONTENT.into_response(),
        ("/voice", "agent") => agent_room(&inner.base_url, room),
        ("/voice", "lead") if hook.get("AnsweredBy").is_none_or(|a| a == "human") => lead_room(&inner.base_url, room),
        ("/voice", "hold-line") => r#"<Response><Say>Please hold</Say><Pause length="3600"/></Response>"#.to_owned(),
        ("/voice", "broken") => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        ("/voice", "garbage") => "this is not TwiML".to_owned(),
        ("/voice", "abandon") => twiml::goodbye(Some("Sorry, nobody is free to take your call")),
        ("/voice", _) if hook.get("AnsweredBy").is_some_and(|a| a != "human") => twiml::goodbye(None),
        ("/voice", _) => {
            let action = format!("{}/dial?mode={mode}&n=1", inner.base_url);
            twiml::bridge(SALESPERSON, to, 20, &action, false)
        }
        ("/dial", "retry") if n == Some("1") && hook.get("DialCallStatus") != Some("completed") => {
            // A relative action: the simulator resolves it against this URL.
            twiml::bridge(SECOND_SALESPERSON, to, 20, "/dial?mode=retry&n=2", false)
        }
        ("/dial", "retry") if hook.get("DialCallStatus") != Some("completed") => {
            twiml::goodbye(Some("Sorry, nobody answered"))
        }
        _ => twiml::goodbye(None),
    };
    ([("content-type", "text/xml")], xml).into_response()
}
