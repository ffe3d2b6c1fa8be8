//! The Twilio REST client behind the `Telephony` port: create, fetch and end
//! calls on `/2010-04-01/Accounts/{sid}/Calls`. The base URL is configurable
//! so tests and local mode point it at the simulator.

use std::time::Duration;

use async_trait::async_trait;
use ibrat_ports::{CreateCall, PlacedCall, RemoteCall, Telephony, TelephonyError};
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

    /// Sends a request and decodes Twilio's answer or error.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<CallResource, TelephonyError> {
        let res = req
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .send()
            .await
            .map_err(|e| TelephonyError::Unavailable(format!("request to Twilio failed: {e}")))?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body =
            res.text().await.map_err(|e| TelephonyError::Unavailable(format!("reading Twilio's answer: {e}")))?;
        if !(200..300).contains(&status) {
            return Err(map_error(status, &body, retry_after));
        }
        serde_json::from_str(&body)
            .map_err(|e| TelephonyError::Unavailable(format!("unreadable answer from Twilio ({e}): {body:.200}")))
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
    if req.machine_detection {
        form.push(("MachineDetection", "Enable".into()));
    }
    form
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
        let call = self.send(self.http.post(self.calls_url()).form(&create_form(req))).await?;
        Ok(PlacedCall { sid: call.sid, status: call.status })
    }

    async fn fetch_call(&self, sid: &str) -> Result<RemoteCall, TelephonyError> {
        let call = self.send(self.http.get(self.call_url(sid))).await?;
        Ok(RemoteCall {
            sid: call.sid,
            status: call.status,
            answered_by: call.answered_by,
            duration_secs: duration_secs(call.duration),
        })
    }

    async fn end_call(&self, sid: &str) -> Result<(), TelephonyError> {
        // `completed` hangs up a call in any state; Twilio cancels one that
        // has not been answered yet.
        self.send(self.http.post(self.call_url(sid)).form(&[("Status", "completed")])).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            machine_detection: true,
        };
        let form = create_form(&req);
        let events: Vec<_> =
            form.iter().filter(|(k, _)| *k == "StatusCallbackEvent").map(|(_, v)| v.as_str()).collect();
        assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
        assert!(form.contains(&("Timeout", "15".into())));
        assert!(form.contains(&("MachineDetection", "Enable".into())));
        let no_amd = create_form(&CreateCall { machine_detection: false, ..req });
        assert!(!no_amd.iter().any(|(k, _)| *k == "MachineDetection"));
    }

    #[test]
    fn reads_durations_as_twilio_writes_them() {
        assert_eq!(duration_secs(Some(serde_json::json!("42"))), Some(42));
        assert_eq!(duration_secs(Some(serde_json::json!(7))), Some(7));
        assert_eq!(duration_secs(Some(serde_json::Value::Null)), None);
        assert_eq!(duration_secs(None), None);
    }
}
