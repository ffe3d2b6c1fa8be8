//! The one error every lifecycle uses to refuse a move.

use std::fmt;

/// Why a lifecycle refused to move; services treat `Unchanged` and moves out
/// of a terminal state as harmless duplicates (Twilio retries and reorders).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError<S: fmt::Debug + fmt::Display> {
    /// The entity is already in the requested state.
    #[error("already {0}")]
    Unchanged(S),
    /// The entity has finished and nothing may move it.
    #[error("{from} is final; cannot move to {to}")]
    Terminal { from: S, to: S },
    /// The move is not one the lifecycle allows.
    #[error("cannot move from {from} to {to}")]
    Illegal { from: S, to: S },
}

impl<S: fmt::Debug + fmt::Display> TransitionError<S> {
    /// True for replays and reorderings that should be acknowledged and ignored.
    pub fn is_stale(&self) -> bool {
        matches!(self, Self::Unchanged(_) | Self::Terminal { .. })
    }
}
