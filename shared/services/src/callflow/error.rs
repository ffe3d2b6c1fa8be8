//! The one error type of the call flow.

use ibrat_ports::{QueueError, StoreError};

use crate::dialing::DialingError;

/// Why a call-flow step failed. Stale, duplicate and unknown callbacks are
/// outcomes, not errors; errors are outages (the webhook answers 5xx so
/// Twilio may retry) and writers that kept racing.
#[derive(Debug, thiserror::Error)]
pub enum CallflowError {
    /// The table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The work queue failed where the step could not absorb it.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Finishing the call failed.
    #[error(transparent)]
    Dialing(#[from] DialingError),
    /// Other writers kept changing the same call; a retry will see them done.
    #[error("contention: {0}")]
    Contention(String),
}

impl CallflowError {
    /// True when the same callback may succeed later (the webhook answers
    /// 503 rather than 500).
    pub fn is_retryable(&self) -> bool {
        match self {
            CallflowError::Store(e) => e.is_retryable(),
            CallflowError::Queue(e) => e.is_retryable(),
            CallflowError::Dialing(e) => e.is_retryable(),
            CallflowError::Contention(_) => true,
        }
    }
}
