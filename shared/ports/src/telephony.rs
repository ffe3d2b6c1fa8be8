//! The telephony port: placing and ending calls (Twilio, or its simulator).

use async_trait::async_trait;

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
    /// Ask Twilio to tell a person from a machine.
    pub machine_detection: bool,
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
}
