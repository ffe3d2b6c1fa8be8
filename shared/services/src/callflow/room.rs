//! A lead's leg in a salesperson's room: its participant-join is the only
//! thing that makes a call connected; its participant-leave ends the
//! conversation (the salesperson stays on their line, in wrap-up). A final
//! status that arrives before either is held back briefly (`SettleCall`) so
//! a reordered join is never lost.

use std::time::Duration as StdDuration;

use ibrat_domain::{CallId, CallStatus, EventKind, UserId};
use tracing::Instrument;

use super::common::{secs_between, MAX_ROUNDS};
use super::error::CallflowError;
use crate::context::Deps;
use crate::dialing::finish::{finish_call, CallEnd, FinishOutcome};
use crate::messages::QueueMessage;
use crate::repo;
use crate::repo::calls::CallChanges;

/// How long a call whose final status came before its room events waits for
/// them before it is settled on what is known.
pub const SETTLE_DELAY: StdDuration = StdDuration::from_secs(10);

/// What happened to a leg in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomLeg {
    Joined,
    Left,
}

/// A leg other than the salesperson's own joined or left `owner`'s room.
/// It counts only when it is the Twilio leg of the call `owner` is on;
/// returns that call (None: not one of ours, or already past).
pub async fn on_room_leg(
    deps: &Deps,
    owner: &UserId,
    call_sid: &str,
    leg: RoomLeg,
) -> Result<Option<CallId>, CallflowError> {
    let span = tracing::info_span!("room_leg", user_id = %owner, call_sid, ?leg, call_id = tracing::field::Empty);
    handle(deps, owner, call_sid, leg).instrument(span).await
}

async fn handle(deps: &Deps, owner: &UserId, call_sid: &str, leg: RoomLeg) -> Result<Option<CallId>, CallflowError> {
    for _ in 0..MAX_ROUNDS {
        let Some((_, Some(call_id))) = repo::users::get_with_call(deps.store.as_ref(), owner).await? else {
            return Ok(None);
        };
        let Some(call) = repo::calls::get(deps.store.as_ref(), &call_id).await? else {
            return Ok(None);
        };
        if call.twilio_sid.as_deref() != Some(call_sid) || call.salesperson_id.as_ref() != Some(owner) {
            tracing::warn!(call_id = %call.id, "room leg is not the salesperson's current call; ignored");
            return Ok(None);
        }
        tracing::Span::current().record("call_id", tracing::field::display(&call.id));
        if call.status.is_terminal() {
            return Ok(Some(call.id));
        }
        let now = deps.clock.now();
        match leg {
            RoomLeg::Joined => {
                if call.connected_at.is_some() {
                    return Ok(Some(call.id));
                }
                let mut written = call.clone();
                let op = repo::calls::update_op(&mut written, CallChanges::new().connected_at_once(now));
                match deps.store.transact_write(vec![op]).await {
                    Ok(()) => {}
                    Err(e) if e.is_condition_failed() || e.is_retryable() => continue,
                    Err(e) => return Err(e.into()),
                }
                tracing::info!("lead joined the salesperson: connected");
                deps.emit(EventKind::CallConnected {
                    call_id: call.id.clone(),
                    lead_id: call.lead_id.clone(),
                    salesperson_id: owner.clone(),
                    connected_at: now,
                })
                .await;
                return Ok(Some(call.id));
            }
            RoomLeg::Left => {
                // A leave proves a join; a lost join is dated by the leave.
                let connected_at = call.connected_at.unwrap_or(now);
                let end = CallEnd {
                    talk_secs: Some(secs_between(connected_at, now)),
                    connected_at: Some(connected_at),
                    ..CallEnd::status(CallStatus::Completed)
                };
                let outcome = finish_call(deps, &call.id, end).await?;
                tracing::info!(?outcome, "lead left the room; conversation over");
                return Ok(Some(call.id));
            }
        }
    }
    Err(CallflowError::Contention("a room event kept losing races".into()))
}

/// Holds back the end of a routed call whose final status came before its
/// room events: a `SettleCall` is queued to close it after
/// [`SETTLE_DELAY`] on what is known by then.
pub(crate) async fn defer_end(deps: &Deps, call_id: &CallId) -> Result<(), CallflowError> {
    let body = QueueMessage::SettleCall { call_id: call_id.clone() }.to_body();
    deps.queue.send(&body, SETTLE_DELAY).await?;
    Ok(())
}

/// Closes a routed call whose leg is over (`SettleCall`): connected when its
/// join was seen (talk time up to now), otherwise abandoned (the person
/// answered and never reached the salesperson). A call already closed is
/// left alone.
pub async fn settle(deps: &Deps, call_id: &CallId) -> Result<FinishOutcome, CallflowError> {
    let Some(call) = repo::calls::get(deps.store.as_ref(), call_id).await? else {
        return Ok(FinishOutcome::UnknownCall);
    };
    if call.status.is_terminal() {
        return Ok(FinishOutcome::AlreadyFinished);
    }
    let now = deps.clock.now();
    let end = match call.connected_at {
        Some(at) => CallEnd { talk_secs: Some(secs_between(at, now)), ..CallEnd::status(CallStatus::Completed) },
        None => CallEnd::status(CallStatus::Abandoned),
    };
    tracing::info!(call_id = %call_id, status = %end.status, "settling a call whose room events did not all come");
    Ok(finish_call(deps, call_id, end).await?)
}
