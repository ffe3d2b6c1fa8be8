//! The Twilio REST client behind the `Telephony` port: create, fetch, list,
//! update and end calls on `/2010-04-01/Accounts/{sid}/Calls`. The base URL
//! is configurable so tests and local mode point it at the simulator.
//!
//! A request that may have reached Twilio without us reading its answer (a
//! timeout, a connection lost after sending, an unreadable success) is
//! reported as [`TelephonyError::Ambiguous`] for a create, which callers
//! never resend; for the idempotent requests (fetch, list, update, end) it is
//! an ordinary retryable outage.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ibrat_ports::{CallInstruction, CreateCall, PlacedCall, RemoteCall, Telephony, TelephonyError};
use serde::Deserialize;

use crate::error::map_error;

/// Twilio's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The account SID does not look like `AC` followed by 32 hex digits.
    #[error("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits")]
    BadAccountSid,
    /// The auth token is empty.
    #[error("TWILIO_AUTH_TOKEN is not set")]
    MissingToken,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// A Twilio account's REST client; cheap to clone, built once per process.
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
}

impl std::fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioClient")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .finish()
    }
}

/// The parts of Twilio's call resource we read.
#[derive(Debug, Deserialize)]
struct CallResource {
    sid: String,
    status: String,
    answered_by: Option<String>,
    /// Twilio sends the duration as a string, null until the call ends.
    duration: Option<serde_json::Value>,
    #[serde(default)]
    to: Option<String>,
    /// RFC 2822, as Twilio writes dates.
    #[serde(default)]
    date_created: Option<String>,
}

impl CallResource {
    fn into_remote(self) -> RemoteCall {
        RemoteCall {
            created_at: self.date_created.as_deref().and_then(parse_twilio_date),
            sid: self.sid,
            status: self.status,
            answered_by: self.answered_by,
            duration_secs: duration_secs(self.duration),
            to: self.to,
        }
    }
}

/// One page of Twilio's call list.
#[derive(Debug, Deserialize)]
struct CallPage {
    calls: Vec<CallResource>,
}

/// Largest page Twilio lists; one page bounds a reconciliation.
const LIST_PAGE: usize = 50;

/// Twilio's dates (`Wed, 02 Dec 2026 02:00:00 +0000`).
fn parse_twilio_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s.trim()).ok().map(|d| d.with_timezone(&Utc))
}

impl TwilioClient {
    /// A client for the real Twilio API.
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<String>) -> Result<Self, ClientError> {
        Self::with_base_url(account_sid, auth_token, DEFAULT_BASE_URL)
    }

    /// A client for a Twilio-compatible server (the simulator, a test stub).
    pub fn with_base_url(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        base_url: impl Into<String>,
    ) -> Result<Self, ClientError> {
        let account_sid = account_sid.into();
        let auth_token = auth_token.into();
        let valid_sid = account_sid.len() == 34
            && account_sid.starts_with("AC")
            && account_sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_sid {
            return Err(ClientError::BadAccountSid);
        }
        if auth_token.trim().is_empty() {
            return Err(ClientError::MissingToken);
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(TwilioClient { http, base_url: base_url.into().trim_end_matches('/').to_owned(), account_sid, auth_token })
    }

    fn calls_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Calls.json", self.base_url, self.account_sid)
    }

    fn call_url(&self, sid: &str) -> String {
        format!("{}/2010-04-01/Accounts/{}/Calls/{}.json", self.base_url, self.account_sid, sid)
    }

    /// Sends a request and decodes Twilio's answer or error. A request that
    /// may have been acted on without a readable answer is `Ambiguous`; one
    /// that never left (no connection) is `Unavailable`.
    async fn send<T: serde::de::DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, TelephonyError> {
        let res = req.basic_auth(&self.account_sid, Some(&self.auth_token)).send().await.map_err(|e| {
            if e.is_connect() || e.is_builder() {
                TelephonyError::Unavailable(format!("request to Twilio not sent: {e}"))
            } else {
                TelephonyError::Ambiguous(format!("request to Twilio failed after sending: {e}"))
            }
        })?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = res.text().await;
        let ok = (200..300).contains(&status);
        let body = match body {
            Ok(b) => b,
            Err(e) if ok => return Err(TelephonyError::Ambiguous(format!("reading Twilio's answer: {e}"))),
            Err(e) => return Err(TelephonyError::Unavailable(format!("reading Twilio's error: {e}"))),
        };
        if !ok {
            return Err(map_error(status, &body, retry_after));
        }
        serde_json::from_str(&body)
            .map_err(|e| TelephonyError::Ambiguous(format!("unreadable answer from Twilio ({e}): {body:.200}")))
    }

    /// [`Self::send`] for requests that are safe to repeat: an unknown
    /// outcome is an ordinary outage.
    async fn send_idempotent<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, TelephonyError> {
        self.send(req).await.map_err(|e| match e {
            TelephonyError::Ambiguous(m) => TelephonyError::Unavailable(m),
            other => other,
        })
    }
}

/// The form Twilio expects for a new call.
fn create_form(req: &CreateCall) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("To", req.to.clone()),
        ("From", req.from.clone()),
        ("Url", req.url.clone()),
        ("Method", "POST".into()),
        ("StatusCallback", req.status_callback.clone()),
        ("StatusCallbackMethod", "POST".into()),
        ("Timeout", req.timeout_secs.max(15).to_string()),
    ];
    for event in ["initiated", "ringing", "answered", "completed"] {
        form.push(("StatusCallbackEvent", event.into()));
    }
    if let Some(amd) = &req.machine_detection {
        form.push(("MachineDetection", amd.mode.as_twilio().into()));
        if let Some(callback) = &amd.async_callback {
            form.push(("AsyncAmd", "true".into()));
            form.push(("AsyncAmdStatusCallback", callback.clone()));
            form.push(("AsyncAmdStatusCallbackMethod", "POST".into()));
        }
    }
    form
}

/// The form that replaces what a live call does.
fn update_form(instruction: &CallInstruction) -> Vec<(&'static str, String)> {
    match instruction {
        CallInstruction::Twiml(twiml) => vec![("Twiml", twiml.clone())],
        CallInstruction::Url(url) => vec![("Url", url.clone()), ("Method", "POST".into())],
    }
}

fn duration_secs(value: Option<serde_json::Value>) -> Option<u32> {
    match value? {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

#[async_trait]
impl Telephony for TwilioClient {
    async fn create_call(&self, req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        let call: CallResource = self.send(self.http.post(self.calls_url()).form(&create_form(req))).await?;
        Ok(PlacedCall { sid: call.sid, status: call.status })
    }

    async fn fetch_call(&self, sid: &str) -> Result<RemoteCall, TelephonyError> {
        let call: CallResource = self.send_idempotent(self.http.get(self.call_url(sid))).await?;
        Ok(call.into_remote())
    }

    async fn end_call(&self, sid: &str) -> Result<(), TelephonyError> {
        // `completed` hangs up a call in any state; Twilio cancels one that
        // has not been answered yet.
        let req = self.http.post(self.call_url(sid)).form(&[("Status", "completed")]);
        self.send_idempotent::<CallResource>(req).await.map(|_| ())
    }

    async fn update_call(&self, sid: &str, instruction: &CallInstruction) -> Result<(), TelephonyError> {
        let req = self.http.post(self.call_url(sid)).form(&update_form(instruction));
        self.send_idempotent::<CallResource>(req).await.map(|_| ())
    }

    async fn list_calls_to(&self, to: &str, since: DateTime<Utc>) -> Result<Vec<RemoteCall>, TelephonyError> {
        // Twilio filters by `To` and lists newest first; `StartTime` is not
        // used because a call still queued has none.
        let req = self.http.get(self.calls_url()).query(&[("To", to), ("PageSize", &LIST_PAGE.to_string())]);
        let page: CallPage = self.send_idempotent(req).await?;
        Ok(page
            .calls
            .into_iter()
            .map(CallResource::into_remote)
            .filter(|c| c.created_at.is_none_or(|t| t >= since))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibrat_ports::{AmdMode, MachineDetection};

    #[test]
    fn refuses_malformed_credentials() {
        assert!(matches!(TwilioClient::new("AC123", "t"), Err(ClientError::BadAccountSid)));
        assert!(matches!(TwilioClient::new(format!("AC{}", "0".repeat(32)), " "), Err(ClientError::MissingToken)));
        assert!(TwilioClient::new(format!("AC{}", "a".repeat(32)), "t").is_ok());
    }

    #[test]
    fn form_carries_every_callback_event_and_a_floor_on_timeout() {
        let req = CreateCall {
            to: "+998901234567".into(),
            from: "+998712000000".into(),
            url: "https://h/twilio/voice?call_id=c".into(),
            status_callback: "https://h/twilio/status?call_id=c".into(),
            timeout_secs: 5,
            machine_detection: Some(MachineDetection { mode: AmdMode::DetectMessageEnd, async_callback: None }),
        };
        let form = create_form(&req);
        let events: Vec<_> =
            form.iter().filter(|(k, _)| *k == "StatusCallbackEvent").map(|(_, v)| v.as_str()).collect();
        assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
        assert!(form.contains(&("Timeout", "15".into())));
        assert!(form.contains(&("MachineDetection", "DetectMessageEnd".into())));
        assert!(!form.iter().any(|(k, _)| *k == "AsyncAmd"));
        let asynchronous = CreateCall {
            machine_detection: Some(MachineDetection {
                mode: AmdMode::Enable,
                async_callback: Some("https://h/amd".into()),
            }),
            ..req.clone()
        };
        let form = create_form(&asynchronous);
        assert!(form.contains(&("MachineDetection", "Enable".into())));
        assert!(form.contains(&("AsyncAmd", "true".into())));
        assert!(form.contains(&("AsyncAmdStatusCallback", "https://h/amd".into())));
        let no_amd = create_form(&CreateCall { machine_detection: None, ..req });
        assert!(!no_amd.iter().any(|(k, _)| *k == "MachineDetection"));
    }

    #[test]
    fn updates_carry_twiml_or_a_url() {
        assert_eq!(update_form(&CallInstruction::Twiml("<Response/>".into())), vec![("Twiml", "<Response/>".into())]);
        assert_eq!(
            update_form(&CallInstruction::Url("https://h/x".into())),
            vec![("Url", "https://h/x".into()), ("Method", "POST".into())]
        );
    }

    #[test]
    fn reads_twilio_dates() {
        let t = parse_twilio_date("Wed, 02 Dec 2026 02:00:05 +0000").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-02T02:00:05+00:00");
        assert!(parse_twilio_date("yesterday").is_none());
    }

    #[test]
    fn reads_durations_as_twilio_writes_them() {
        assert_eq!(duration_secs(Some(serde_json::json!("42"))), Some(42));
        assert_eq!(duration_secs(Some(serde_json::json!(7))), Some(7));
        assert_eq!(duration_secs(Some(serde_json::Value::Null)), None);
        assert_eq!(duration_secs(None), None);
    }
}
