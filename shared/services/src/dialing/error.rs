//! The one error type of the dialing engine.

use ibrat_ports::{QueueError, StoreError, TelephonyError};

/// Why a dialing step failed. Business refusals (not due, no capacity, ...)
/// are outcomes, not errors; errors are outages and impossible states.
#[derive(Debug, thiserror::Error)]
pub enum DialingError {
    /// The table failed (retryable when the store says so).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The work queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The telephony provider failed where the step could not absorb it.
    #[error(transparent)]
    Telephony(#[from] TelephonyError),
    /// Writers kept racing on the same items; trying again later will win.
    #[error("contention: {0}")]
    Contention(String),
    /// The request makes no sense (for example finishing a call with a
    /// non-terminal status); retrying cannot help.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The caller's time budget ran out before the step began (the
    /// message is untouched; delivering it again later will work).
    #[error("the dialer's time budget ran out before this message")]
    OutOfTime,
}

impl DialingError {
    /// True when delivering the same message again later may succeed; false
    /// errors are logged and the message dropped.
    pub fn is_retryable(&self) -> bool {
        match self {
            DialingError::Store(e) => e.is_retryable(),
            DialingError::Queue(e) => e.is_retryable(),
            DialingError::Telephony(e) => e.is_retryable(),
            DialingError::Contention(_) => true,
            DialingError::Invalid(_) => false,
            DialingError::OutOfTime => true,
        }
    }
}
