//! Dialing pause and resume, for admins (after fixing Twilio credentials)
//! and for the status display.

use super::error::DialingError;
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo::pacing::{self, PacingState};

/// The current pacing state (calls in flight, capacity, pause).
pub async fn status(deps: &Deps) -> Result<PacingState, DialingError> {
    Ok(pacing::get(deps.store.as_ref()).await?)
}

/// Stops dialing: ticks dispatch nothing and dialers claim nothing. Used
/// when Twilio refuses our credentials, and available to admins.
pub async fn pause(deps: &Deps, reason: &str) -> Result<PacingState, DialingError> {
    tracing::warn!(reason, "dialing paused");
    Ok(pacing::pause(deps.store.as_ref(), reason, deps.clock.now()).await?)
}

/// Lets dialing start again and nudges the scheduler.
pub async fn resume(deps: &Deps) -> Result<PacingState, DialingError> {
    let state = pacing::resume(deps.store.as_ref()).await?;
    tracing::info!("dialing resumed");
    deps.queue.send(&QueueMessage::Nudge.to_body(), std::time::Duration::ZERO).await?;
    Ok(state)
}
