//! Status callbacks: progress moves the call (and its lead) forward; the
//! final status finishes the call through `dialing::finish::finish_call`.

use ibrat_domain::{AnsweredBy, CallId, CallStatus, EventKind, LeadStatus};
use tracing::Instrument;

use super::common::{is_machine, secs_between, MAX_ROUNDS};
use super::error::CallflowError;
use crate::context::Deps;
use crate::dialing::finish::{finish_call, CallEnd, FinishOutcome};
use crate::repo::{self, calls::CallChanges};

/// Twilio's `CallStatus` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TwilioCallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl TwilioCallStatus {
    /// Parses Twilio's wire value (`in-progress`, `no-answer`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "queued" => Self::Queued,
            "initiated" => Self::Initiated,
            "ringing" => Self::Ringing,
            "in-progress" | "answered" => Self::InProgress,
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    /// True for the statuses that end a call.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Busy | Self::NoAnswer | Self::Failed | Self::Canceled)
    }
}

/// One status callback, as far as the call flow cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub call_status: TwilioCallStatus,
    /// Twilio `SequenceNumber` (from 0, increasing per call).
    pub sequence: Option<u32>,
    /// Twilio `CallDuration`, on the final status.
    pub duration: Option<u32>,
    /// Twilio `AnsweredBy`, when present.
    pub answered_by: Option<AnsweredBy>,
    /// Twilio `CallSid`; recorded when the dialer has not yet, and checked
    /// against the call otherwise.
    pub call_sid: Option<String>,
}

impl StatusUpdate {
    /// An update with just a status.
    pub fn new(call_status: TwilioCallStatus) -> Self {
        StatusUpdate { call_status, sequence: None, duration: None, answered_by: None, call_sid: None }
    }
}

/// Why a callback changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    /// Its sequence number was already applied (a replay).
    Replay,
    /// The call is already there or past it (duplicate or late).
    Stale,
    /// A status the flow does not act on (`queued`).
    NotTracked,
    /// The callback names another Twilio call than the one recorded.
    SidMismatch,
    /// The lead's leg ended before its room events came; the call is
    /// settled shortly (`SettleCall`) so a reordered join still counts.
    AwaitingRoom,
}

/// What a status callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The call moved forward to `status`.
    Progressed { status: CallStatus },
    /// Nothing changed.
    Ignored { reason: IgnoreReason },
    /// A final status was handed to `finish_call`; what it did.
    Finished { status: CallStatus, outcome: FinishOutcome },
    /// No such call (acknowledged; nothing to do).
    UnknownCall,
}

/// Applies one status callback. Progress statuses move the call forward
/// (stale or replayed ones are ignored and write nothing) and the lead from
/// dialing to ringing; final statuses finish the call, once.
pub async fn on_status(deps: &Deps, call_id: &CallId, update: StatusUpdate) -> Result<StatusOutcome, CallflowError> {
    let span = tracing::info_span!(
        "on_status",
        call_id = %call_id,
        call_sid = update.call_sid.as_deref().unwrap_or(""),
        lead_id = tracing::field::Empty,
        status = ?update.call_status,
        sequence = ?update.sequence,
    );
    handle(deps, call_id, update).instrument(span).await
}

async fn handle(deps: &Deps, call_id: &CallId, update: StatusUpdate) -> Result<StatusOutcome, CallflowError> {
    let target = match update.call_status {
        TwilioCallStatus::Queued => return Ok(StatusOutcome::Ignored { reason: IgnoreReason::NotTracked }),
        TwilioCallStatus::Initiated => CallStatus::Initiated,
        TwilioCallStatus::Ringing => CallStatus::Ringing,
        TwilioCallStatus::InProgress => CallStatus::Answered,
        _ => return finish(deps, call_id, &update).await,
    };
    for _ in 0..MAX_ROUNDS {
        let Some(record) = repo::calls::get_record(deps.store.as_ref(), call_id).await? else {
            return Ok(StatusOutcome::UnknownCall);
        };
        let mut call = record.call;
        tracing::Span::current().record("lead_id", tracing::field::display(&call.lead_id));
        if let Some(reason) = sid_mismatch(call.twilio_sid.as_deref(), update.call_sid.as_deref()) {
            return Ok(StatusOutcome::Ignored { reason });
        }
        if let (Some(seq), Some(last)) = (update.sequence, call.last_sequence) {
            if seq <= last {
                return Ok(StatusOutcome::Ignored { reason: IgnoreReason::Replay });
            }
        }
        if let Err(e) = call.status.transition(target) {
            tracing::debug!(error = %e, "stale progress callback ignored");
            return Ok(StatusOutcome::Ignored { reason: IgnoreReason::Stale });
        }

        let now = deps.clock.now();
        let mut changes = CallChanges::new().status(target);
        if let Some(seq) = update.sequence {
            changes = changes.last_sequence(seq);
        }
        if let (None, Some(sid)) = (&call.twilio_sid, &update.call_sid) {
            // The placing request's answer was lost; Twilio has the call.
            changes = changes.placement_resolved(sid);
        }
        match target {
            CallStatus::Initiated => changes = changes.initiated_at_once(now),
            CallStatus::Ringing => changes = changes.ringing_at_once(now),
            _ => {
                // `answered_at` is when we learn a person answered (the
                // voice request's verdict), not when the phone was picked up.
                if let Some(a) = update.answered_by {
                    changes = changes.answered_by(a);
                }
                if let (None, Some(rang)) = (call.ring_secs, call.ringing_at) {
                    changes = changes.ring_secs(secs_between(rang, now));
                }
            }
        }
        let mut ops = vec![repo::calls::update_op(&mut call, changes)];

        // The lead follows: dialing → ringing once Twilio reports progress
        // past the dial (answers are decided by the voice webhook).
        let mut moved_lead = None;
        if matches!(target, CallStatus::Ringing | CallStatus::Answered) {
            if let Some(mut lead) = repo::leads::get(deps.store.as_ref(), &call.lead_id).await? {
                if lead.status == LeadStatus::Dialing && lead.last_call_id.as_ref() == Some(&call.id) {
                    lead.status = LeadStatus::Ringing;
                    lead.updated_at = now;
                    ops.push(repo::leads::save_op(&mut lead));
                    moved_lead = Some(lead);
                }
            }
        }

        match deps.store.transact_write(ops).await {
            Ok(()) => {}
            Err(e) if e.is_condition_failed() || e.is_retryable() => {
                tracing::debug!(error = %e, "status update lost a race; re-reading");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(status = %target, "call progressed");
        match target {
            CallStatus::Ringing => {
                deps.emit(EventKind::CallRinging { call_id: call.id.clone(), lead_id: call.lead_id.clone() }).await;
            }
            CallStatus::Answered => {
                deps.emit(EventKind::CallAnswered {
                    call_id: call.id.clone(),
                    lead_id: call.lead_id.clone(),
                    answered_by: update.answered_by.unwrap_or(AnsweredBy::Unknown),
                })
                .await;
            }
            _ => {}
        }
        if let Some(lead) = &moved_lead {
            deps.emit(EventKind::lead_updated(lead)).await;
        }
        return Ok(StatusOutcome::Progressed { status: target });
    }
    Err(CallflowError::Contention(format!("status update of call {call_id} kept losing races")))
}

/// Some(reason) when the callback is for another Twilio call than the one
/// recorded on ours.
fn sid_mismatch(recorded: Option<&str>, got: Option<&str>) -> Option<IgnoreReason> {
    match (recorded, got) {
        (Some(r), Some(g)) if r != g => {
            tracing::warn!(recorded = r, got = g, "status callback for another Twilio call; ignored");
            Some(IgnoreReason::SidMismatch)
        }
        _ => None,
    }
}

/// Hands a final status to `finish_call` with the matching end.
async fn finish(deps: &Deps, call_id: &CallId, update: &StatusUpdate) -> Result<StatusOutcome, CallflowError> {
    let Some(record) = repo::calls::get_record(deps.store.as_ref(), call_id).await? else {
        return Ok(StatusOutcome::UnknownCall);
    };
    let call = record.call;
    tracing::Span::current().record("lead_id", tracing::field::display(&call.lead_id));
    if let Some(reason) = sid_mismatch(call.twilio_sid.as_deref(), update.call_sid.as_deref()) {
        return Ok(StatusOutcome::Ignored { reason });
    }
    if call.status.is_terminal() {
        return Ok(StatusOutcome::Finished { status: call.status, outcome: FinishOutcome::AlreadyFinished });
    }
    if call.status == CallStatus::Bridged && call.connected_at.is_none() {
        // Routed to a room but the join has not been seen: it may still be
        // on its way (callbacks reorder), so the call is not closed now.
        super::room::defer_end(deps, call_id).await?;
        tracing::info!("final status before the room's join; settling shortly");
        return Ok(StatusOutcome::Ignored { reason: IgnoreReason::AwaitingRoom });
    }
    let status = final_status(call.status, call.answered_by, update);
    let now = deps.clock.now();
    let ring_secs = match (call.ring_secs, call.ringing_at) {
        (None, Some(rang)) => Some(secs_between(rang, call.answered_at.unwrap_or(now))),
        _ => None,
    };
    let talk_secs = call.talk_secs.or(call.connected_at.map(|at| secs_between(at, now)));
    let end = CallEnd {
        answered_by: update.answered_by.or(call.answered_by),
        ring_secs,
        talk_secs,
        duration_secs: update.duration,
        sequence: update.sequence,
        ..CallEnd::status(status)
    };
    let outcome = finish_call(deps, call_id, end).await?;
    Ok(StatusOutcome::Finished { status, outcome })
}

/// The terminal status a final callback stands for, given where the call
/// is. `completed` means "connected" only for a routed call (and `finish_call`
/// still makes it abandoned unless its room join was seen); a person we
/// answered but never routed was abandoned; a completed call we never
/// saw answered was a machine (when Twilio says so), a failure on our side
/// (it was picked up but the voice webhook never ran) or, with no talk time
/// at all, not answered.
fn final_status(current: CallStatus, recorded_by: Option<AnsweredBy>, update: &StatusUpdate) -> CallStatus {
    match update.call_status {
        TwilioCallStatus::Completed => match current {
            CallStatus::Bridged => CallStatus::Completed,
            CallStatus::Answered if is_machine(recorded_by.or(update.answered_by)) => CallStatus::Machine,
            CallStatus::Answered => CallStatus::Abandoned,
            _ if is_machine(update.answered_by) => CallStatus::Machine,
            _ if update.answered_by.is_some() || update.duration.unwrap_or(0) > 0 => CallStatus::Failed,
            _ => CallStatus::NoAnswer,
        },
        TwilioCallStatus::Busy => CallStatus::Busy,
        TwilioCallStatus::NoAnswer => CallStatus::NoAnswer,
        TwilioCallStatus::Canceled => CallStatus::Canceled,
        _ => CallStatus::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completed(answered_by: Option<AnsweredBy>, duration: Option<u32>) -> StatusUpdate {
        StatusUpdate { answered_by, duration, ..StatusUpdate::new(TwilioCallStatus::Completed) }
    }

    #[test]
    fn completed_maps_by_what_we_saw() {
        assert_eq!(final_status(CallStatus::Bridged, None, &completed(None, Some(60))), CallStatus::Completed);
        assert_eq!(final_status(CallStatus::Answered, None, &completed(None, Some(3))), CallStatus::Abandoned);
        let machine = completed(Some(AnsweredBy::Machine), Some(20));
        assert_eq!(final_status(CallStatus::Ringing, None, &machine), CallStatus::Machine);
        assert_eq!(final_status(CallStatus::Ringing, None, &completed(None, Some(12))), CallStatus::Failed);
        assert_eq!(final_status(CallStatus::Ringing, None, &completed(None, Some(0))), CallStatus::NoAnswer);
        let busy = StatusUpdate::new(TwilioCallStatus::Busy);
        assert_eq!(final_status(CallStatus::Ringing, None, &busy), CallStatus::Busy);
    }

    #[test]
    fn twilio_statuses_parse() {
        assert_eq!(TwilioCallStatus::parse("in-progress"), Some(TwilioCallStatus::InProgress));
        assert_eq!(TwilioCallStatus::parse("no-answer"), Some(TwilioCallStatus::NoAnswer));
        assert_eq!(TwilioCallStatus::parse("nonsense"), None);
        assert!(TwilioCallStatus::Canceled.is_final());
        assert!(!TwilioCallStatus::Ringing.is_final());
    }
}
