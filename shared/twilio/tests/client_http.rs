//! The REST client against a local HTTP server that answers as Twilio does:
//! the request it sends (path, basic auth, repeated form fields) and the
//! mapping of each kind of Twilio error.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ibrat_ports::{AmdMode, CallInstruction, CreateCall, MachineDetection, Telephony, TelephonyError};
use ibrat_twilio::TwilioClient;

const SID: &str = "AC0123456789abcdef0123456789abcdef";

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String, String)>>>);

fn error(status: u16, code: u32, extra: &[(&'static str, &'static str)]) -> Response {
    let body = format!(
        r#"{{"code":{code},"message":"error {code}","more_info":"https://www.twilio.com/docs/errors/{code}","status":{status}}}"#
    );
    let mut res = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (k, v) in extra {
        res.headers_mut().insert(*k, v.parse().unwrap());
    }
    res
}

async fn create(State(seen): State<Seen>, Path(account): Path<String>, headers: HeaderMap, body: String) -> Response {
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    seen.0.lock().unwrap().push((account, auth, body.clone()));
    let to = serde_urlencoded::from_str::<Vec<(String, String)>>(&body)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "To")
        .map(|(_, v)| v)
        .unwrap_or_default();
    match to.as_str() {
        "+15005550001" => error(400, 21211, &[]),
        "+15005550002" => error(429, 20429, &[("retry-after", "2")]),
        "+15005550003" => error(503, 20500, &[]),
        "+15005550004" => error(401, 20003, &[]),
        // Accepted, but the answer cannot be read: the call may exist.
        "+15005550005" => (StatusCode::CREATED, "<html>gateway</html>").into_response(),
        _ => (
            StatusCode::CREATED,
            r#"{"sid":"CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"queued","direction":"outbound-api","answered_by":null,"duration":null}"#,
        )
            .into_response(),
    }
}

async fn fetch(Path((_account, call)): Path<(String, String)>) -> Response {
    if call == "CAgone.json" {
        return error(404, 20404, &[]);
    }
    if call == "CAmissing.json" {
        return error(404, 20404, &[]);
    }
    (
        StatusCode::OK,
        r#"{"sid":"CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"completed","answered_by":"human","duration":"37"}"#,
    )
        .into_response()
}

async fn update(
    State(seen): State<Seen>,
    Path((account, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    seen.0.lock().unwrap().push((format!("{account}/{call}"), auth, body));
    fetch(Path((account, call))).await
}

async fn list(State(seen): State<Seen>, RawQuery(query): RawQuery) -> Response {
    seen.0.lock().unwrap().push(("list".into(), String::new(), query.unwrap_or_default()));
    (
        StatusCode::OK,
        r#"{"calls":[
            {"sid":"CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","status":"ringing","answered_by":null,"duration":null,"to":"+998901234567","date_created":"Wed, 02 Dec 2026 02:00:05 +0000"},
            {"sid":"CAcccccccccccccccccccccccccccccccc","status":"completed","answered_by":"human","duration":"12","to":"+998901234567","date_created":"Tue, 01 Dec 2026 09:00:00 +0000"}
        ],"page":0,"page_size":50,"next_page_uri":null}"#,
    )
        .into_response()
}

async fn server() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/2010-04-01/Accounts/{account}/Calls.json", post(create).get(list))
        .route("/2010-04-01/Accounts/{account}/Calls/{call}", get(fetch).post(update))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn call(to: &str) -> CreateCall {
    CreateCall {
        to: to.into(),
        from: "+15005550006".into(),
        url: "https://hooks.example.com/twilio/voice?call_id=c1".into(),
        status_callback: "https://hooks.example.com/twilio/status?call_id=c1".into(),
        timeout_secs: 30,
        machine_detection: Some(MachineDetection { mode: AmdMode::DetectMessageEnd, async_callback: None }),
    }
}

#[tokio::test]
async fn creates_a_call_with_basic_auth_and_every_callback_event() {
    let (base, seen) = server().await;
    let client = TwilioClient::with_base_url(SID, "secret", &base).unwrap();
    let placed = client.create_call(&call("+998901234567")).await.unwrap();
    assert_eq!(placed.sid, "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(placed.status, "queued");
    let (account, auth, body) = seen.0.lock().unwrap()[0].clone();
    assert_eq!(account, SID);
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:secret"));
    assert_eq!(auth, format!("Basic {expected}"));
    assert!(body.contains("To=%2B998901234567"));
    assert_eq!(body.matches("StatusCallbackEvent=").count(), 4);
    assert!(body.contains("MachineDetection=DetectMessageEnd"));
    assert!(body.contains("Timeout=30"));
}

#[tokio::test]
async fn maps_twilio_errors() {
    let (base, _) = server().await;
    let client = TwilioClient::with_base_url(SID, "secret", &base).unwrap();
    let invalid = client.create_call(&call("+15005550001")).await.unwrap_err();
    assert!(matches!(invalid, TelephonyError::InvalidNumber { code: 21211, .. }), "{invalid:?}");
    let limited = client.create_call(&call("+15005550002")).await.unwrap_err();
    assert_eq!(limited, TelephonyError::RateLimited { retry_after_secs: Some(2) });
    let down = client.create_call(&call("+15005550003")).await.unwrap_err();
    assert!(matches!(down, TelephonyError::Unavailable(_)) && down.is_retryable());
    let auth = client.create_call(&call("+15005550004")).await.unwrap_err();
    assert!(matches!(auth, TelephonyError::Auth(_)) && !auth.is_retryable());
    // Twilio said yes in a way we cannot read: never resent.
    let unknown = client.create_call(&call("+15005550005")).await.unwrap_err();
    assert!(matches!(unknown, TelephonyError::Ambiguous(_)) && !unknown.is_retryable(), "{unknown:?}");
}

#[tokio::test]
async fn updates_a_live_call_with_twiml() {
    let (base, seen) = server().await;
    let client = TwilioClient::with_base_url(SID, "secret", &base).unwrap();
    let twiml = "<Response><Dial><Conference>agent-u1</Conference></Dial></Response>";
    client.update_call("CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &CallInstruction::Twiml(twiml.into())).await.unwrap();
    let (path, _, body) = seen.0.lock().unwrap().last().cloned().unwrap();
    assert_eq!(path, format!("{SID}/CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json"));
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
    assert_eq!(form, vec![("Twiml".to_string(), twiml.to_string())]);
    let gone = client.update_call("CAgone", &CallInstruction::Url("https://h/x".into())).await.unwrap_err();
    assert_eq!(gone, TelephonyError::NotFound);
}

#[tokio::test]
async fn lists_calls_to_a_number_since_a_time() {
    let (base, seen) = server().await;
    let client = TwilioClient::with_base_url(SID, "secret", &base).unwrap();
    let since = chrono::DateTime::parse_from_rfc3339("2026-12-02T02:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let calls = client.list_calls_to("+998901234567", since).await.unwrap();
    assert_eq!(calls.len(), 1, "the call before `since` is left out: {calls:?}");
    assert_eq!(calls[0].sid, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    assert_eq!(calls[0].status, "ringing");
    assert_eq!(calls[0].to.as_deref(), Some("+998901234567"));
    let (_, _, query) = seen.0.lock().unwrap().last().cloned().unwrap();
    assert!(query.contains("To=%2B998901234567"), "{query}");
}

#[tokio::test]
async fn fetches_and_ends_calls() {
    let (base, _) = server().await;
    let client = TwilioClient::with_base_url(SID, "secret", &base).unwrap();
    let remote = client.fetch_call("CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").await.unwrap();
    assert_eq!(remote.status, "completed");
    assert_eq!(remote.answered_by.as_deref(), Some("human"));
    assert_eq!(remote.duration_secs, Some(37));
    assert_eq!(client.fetch_call("CAmissing").await.unwrap_err(), TelephonyError::NotFound);
    client.end_call("CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").await.unwrap();
}

#[tokio::test]
async fn an_unreachable_server_is_retryable() {
    let client = TwilioClient::with_base_url(SID, "secret", "http://127.0.0.1:9").unwrap();
    let err = client.create_call(&call("+998901234567")).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
