//! The errors of agent sessions, with their stable codes.

use ibrat_ports::{StoreError, TelephonyError};

use crate::callflow::CallflowError;

/// Why a session request failed; mapped to statuses by the API.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// 403: only salespeople have a line.
    #[error("only an active salesperson can start a session")]
    NotSalesperson,
    /// 422: nothing to call.
    #[error("you have no phone number on file; ask an admin to add one")]
    NoPhoneNumber,
    /// 409: a session is open already.
    #[error("a session is already open")]
    Active,
    /// 409: there is no open session.
    #[error("no session is open")]
    NoSession,
    /// 409: nothing to hang up.
    #[error("you are not on a call")]
    NoActiveCall,
    /// 422: Twilio refused to call the phone number.
    #[error("your phone number cannot be called: {0}")]
    PhoneRefused(String),
    /// 503: Twilio could not be reached; nothing was placed.
    #[error("telephony unavailable: {0}")]
    Telephony(TelephonyError),
    /// 503: other writers kept changing the same items.
    #[error("contention: {0}")]
    Contention(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A lead's leg in the room could not be handled.
    #[error(transparent)]
    Flow(#[from] CallflowError),
}

impl SessionError {
    /// True when the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            SessionError::Telephony(e) => e.is_retryable(),
            SessionError::Contention(_) => true,
            SessionError::Store(e) => e.is_retryable(),
            SessionError::Flow(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// The stable code of an error, shared by the REST and WebSocket faces.
pub fn error_code(e: &SessionError) -> &'static str {
    match e {
        SessionError::NotSalesperson => "forbidden",
        SessionError::NoPhoneNumber => "no_phone_number",
        SessionError::Active => "session_active",
        SessionError::NoSession => "no_session",
        SessionError::NoActiveCall => "no_active_call",
        SessionError::PhoneRefused(_) => "phone_refused",
        SessionError::Telephony(_) | SessionError::Contention(_) => "unavailable",
        SessionError::Store(e) if e.is_retryable() => "unavailable",
        SessionError::Flow(e) if e.is_retryable() => "unavailable",
        SessionError::Store(_) | SessionError::Flow(_) => "internal",
    }
}
