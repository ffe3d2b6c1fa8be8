//! The telephony port: placing, moving, inspecting and ending calls (Twilio,
//! or its simulator). A salesperson's own leg is placed with `create_call`
//! too, without machine detection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What we ask Twilio to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCall {
    /// E.164 number to call.
    pub to: String,
    /// E.164 caller id.
    pub from: String,
    /// Voice webhook requested when the call is answered.
    pub url: String,
    /// Status callback for initiated, ringing, answered and completed.
    pub status_callback: String,
    /// Seconds to ring before giving up (15 or more).
    pub timeout_secs: u32,
    /// Ask Twilio to tell a person from a machine (None: no detection, as
    /// for a salesperson's own leg).
    pub machine_detection: Option<MachineDetection>,
}

/// Answering-machine detection for a new call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineDetection {
    pub mode: AmdMode,
    /// With a URL, detection runs asynchronously (`AsyncAmd=true`): the call
    /// is connected at once and the verdict is posted here, so a person is
    /// never kept waiting by detection. None: the voice request waits for it.
    pub async_callback: Option<String>,
}

/// Twilio's `MachineDetection` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmdMode {
    /// `Enable`: the verdict as soon as Twilio decides (`machine_start`).
    Enable,
    /// `DetectMessageEnd`: for a machine, the verdict comes at the end of its
    /// greeting (the beep), which is when a voicemail drop must start.
    DetectMessageEnd,
}

impl AmdMode {
    /// Twilio's wire value.
    pub fn as_twilio(self) -> &'static str {
        match self {
            AmdMode::Enable => "Enable",
            AmdMode::DetectMessageEnd => "DetectMessageEnd",
        }
    }
}

/// New instructions for a live call (`POST /Calls/{Sid}` with `Twiml` or
/// `Url`): what it does now is replaced at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallInstruction {
    /// TwiML to run now.
    Twiml(String),
    /// A URL Twilio requests (POST) for the TwiML to run now.
    Url(String),
}

/// Twilio accepted the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    /// `CA` + 32 hex digits.
    pub sid: String,
    /// Twilio's status at creation (normally `queued`).
    pub status: String,
}

/// A call as Twilio reports it now, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCall {
    pub sid: String,
    /// Twilio's status: queued, initiated, ringing, in-progress, completed,
    /// busy, no-answer, failed, canceled.
    pub status: String,
    pub answered_by: Option<String>,
    /// Seconds, once finished.
    pub duration_secs: Option<u32>,
    /// The number called (E.164), when Twilio reports it.
    pub to: Option<String>,
    /// When Twilio created the call, when it reports it.
    pub created_at: Option<DateTime<Utc>>,
}

/// Telephony failures, mapped from Twilio's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelephonyError {
    /// The number cannot be called (21211, 21214, 21217, 21612, 13224, ...):
    /// mark the lead invalid, do not retry.
    #[error("number cannot be called ({code}): {message}")]
    InvalidNumber { code: u32, message: String },
    /// Too many requests (HTTP 429 / 20429): back off and retry.
    #[error("rate limited by the telephony provider")]
    RateLimited { retry_after_secs: Option<u64> },
    /// Provider-side failure (5xx) or network trouble: retry with backoff.
    #[error("telephony provider unavailable: {0}")]
    Unavailable(String),
    /// Credentials refused (HTTP 401, 20003): stop dialing and alert.
    #[error("telephony credentials refused: {0}")]
    Auth(String),
    /// The call does not exist (HTTP 404, 20404).
    #[error("call not found")]
    NotFound,
    /// The request may have been acted on, and we cannot tell (a timeout or
    /// a connection lost after sending, an unreadable success): resending it
    /// could place a second call. Never retried; the caller resolves it by
    /// asking (fetch, list) or from callbacks.
    #[error("telephony request outcome unknown: {0}")]
    Ambiguous(String),
    /// Any other refusal; not retried.
    #[error("telephony request refused ({code}): {message}")]
    Rejected { code: u32, message: String },
}

impl TelephonyError {
    /// True when the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TelephonyError::RateLimited { .. } | TelephonyError::Unavailable(_))
    }
}

/// Places, inspects and ends calls.
#[async_trait]
pub trait Telephony: Send + Sync {
    /// Starts an outbound call.
    async fn create_call(&self, req: &CreateCall) -> Result<PlacedCall, TelephonyError>;

    /// Reads a call's current state.
    async fn fetch_call(&self, sid: &str) -> Result<RemoteCall, TelephonyError>;

    /// Ends a call: cancels it if not yet answered, hangs up otherwise.
    async fn end_call(&self, sid: &str) -> Result<(), TelephonyError>;

    /// Replaces what a live call is doing (into a room, say). `NotFound`
    /// when the call is over or unknown.
    async fn update_call(&self, sid: &str, instruction: &CallInstruction) -> Result<(), TelephonyError>;

    /// Calls placed to `to` created at or after `since`, newest first (one
    /// bounded page): how an ambiguous create is resolved when no SID came
    /// back.
    async fn list_calls_to(&self, to: &str, since: DateTime<Utc>) -> Result<Vec<RemoteCall>, TelephonyError>;
}
