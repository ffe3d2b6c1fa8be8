//! Ending a call: the one transaction that moves the call to its terminal
//! status, the lead to what the retry policy says, and the pacing and
//! statistics counters with them. Called by callflow (final status
//! callbacks, machine, abandoned), by the dialer (refused numbers, released
//! claims) and by recovery.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ibrat_domain::timezone::parse_zone;
use ibrat_domain::RetryDecision;
use ibrat_domain::{
    AnsweredBy, Availability, Call, CallId, CallOutcome, CallStatus, EventKind, Lead, LeadStatus, Priority, Settings,
    UserId,
};
use ibrat_ports::queue::MAX_DELAY;
use ibrat_ports::WriteOp;
use tracing::Instrument;

use super::error::DialingError;
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo::{self, calls::CallChanges};

/// How a call ended, as reported by Twilio (or decided by us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// A terminal status.
    pub status: CallStatus,
    /// Twilio's answering-machine verdict, when it gave one.
    pub answered_by: Option<AnsweredBy>,
    /// Seconds the lead's phone rang.
    pub ring_secs: Option<u32>,
    /// Seconds the lead talked with a salesperson.
    pub talk_secs: Option<u32>,
    /// Twilio `CallDuration`.
    pub duration_secs: Option<u32>,
    /// Twilio `SequenceNumber` of the callback, to drop replays.
    pub sequence: Option<u32>,
    /// Twilio refused the number: the lead becomes invalid, no retry.
    pub invalid_number: bool,
    /// When the lead's leg joined the salesperson's room, when the ending
    /// step learnt it (a leave whose join was lost).
    pub connected_at: Option<DateTime<Utc>>,
    /// When the safe-harbor message started (abandoned by us).
    pub safe_harbor_at: Option<DateTime<Utc>>,
}

impl CallEnd {
    /// An end with just a status, the rest unknown.
    pub fn status(status: CallStatus) -> Self {
        CallEnd {
            status,
            answered_by: None,
            ring_secs: None,
            talk_secs: None,
            duration_secs: None,
            sequence: None,
            invalid_number: false,
            connected_at: None,
            safe_harbor_at: None,
        }
    }
}

/// What finishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishOutcome {
    /// The call ended now; the lead moved to `lead_status`.
    Finished { lead_status: LeadStatus, next_attempt_at: Option<DateTime<Utc>> },
    /// The call had already ended; nothing changed (a duplicate callback).
    AlreadyFinished,
    /// No such call.
    UnknownCall,
}

/// What happens to the lead when its call is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeadPlan {
    /// The retry policy decides (normal ends).
    Policy,
    /// The call never really happened (never placed, or the claim was given
    /// back): the lead returns to the queue at `at` and the attempt is not
    /// counted.
    Requeue { at: DateTime<Utc> },
}

/// Ends a call, once: the first terminal status wins and later ones return
/// [`FinishOutcome::AlreadyFinished`] without changing anything.
///
/// One transaction moves the call to its terminal status (outcome, durations,
/// `ended_at`), the lead to the status `settings.retry.decide` gives (retry
/// time moved into the lead's calling window; abandoned leads become urgent;
/// connected leads complete; refused numbers become invalid), releases the
/// call's pacing slot, counts the outcome in the day's statistics, removes
/// the in-flight marker, and moves a salesperson still `on_call` with this
/// call to `wrap_up` (a delayed `WrapUpEnd` follows). Then `CallCompleted`
/// and `LeadUpdated` are emitted and a `Nudge` queued.
pub async fn finish_call(deps: &Deps, call_id: &CallId, end: CallEnd) -> Result<FinishOutcome, DialingError> {
    let span = tracing::info_span!("finish_call", call_id = %call_id, lead_id = tracing::field::Empty, call_sid = tracing::field::Empty, status = %end.status);
    close(deps, call_id, end, LeadPlan::Policy).instrument(span).await
}

/// How many times a finish re-reads and retries after losing a race.
const MAX_ATTEMPTS: usize = 8;

/// The terminal status actually applied: Twilio may report an end that the
/// call's lifecycle refuses (a no-answer after we saw an answer, say); the
/// closest legal end is used instead so the call never stays open. A call
/// is completed (connected) only when its leg was seen joining the
/// salesperson's room: otherwise the person answered and never reached
/// anyone, which is an abandoned call.
fn legal_end(from: CallStatus, wanted: CallStatus, connected: bool) -> CallStatus {
    if wanted == CallStatus::Completed && !connected && matches!(from, CallStatus::Answered | CallStatus::Bridged) {
        return CallStatus::Abandoned;
    }
    if from.transition(wanted).is_ok() && (wanted != CallStatus::Completed || connected) {
        return wanted;
    }
    match from {
        CallStatus::Bridged if connected => CallStatus::Completed,
        CallStatus::Answered | CallStatus::Bridged => CallStatus::Abandoned,
        _ => CallStatus::Failed,
    }
}

/// The lead after its call ended under `plan`.
fn next_lead(
    lead: &Lead,
    call: &Call,
    outcome: CallOutcome,
    invalid_number: bool,
    plan: LeadPlan,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Lead {
    let mut next = lead.clone();
    next.updated_at = now;
    if let Some(sp) = &call.salesperson_id {
        next.salesperson_id = Some(sp.clone());
    }
    let into_window = |t: DateTime<Utc>| match lead.timezone.as_deref().and_then(parse_zone) {
        Some(tz) => settings.calling_window.next_open(t, tz),
        None => t,
    };
    let (status, at) = if invalid_number {
        (LeadStatus::Invalid, None)
    } else {
        match plan {
            LeadPlan::Requeue { at } => {
                next.attempts = next.attempts.saturating_sub(1);
                let status = if lead.callback { LeadStatus::RetryScheduled } else { LeadStatus::Queued };
                let due = lead.next_attempt_at.map_or(at, |d| d.max(at));
                (status, Some(into_window(due)))
            }
            LeadPlan::Policy => match settings.retry.decide(outcome, lead.attempts) {
                RetryDecision::Done => (LeadStatus::Completed, None),
                RetryDecision::Exhausted => (LeadStatus::NoMoreAttempts, None),
                RetryDecision::RetryIn(secs) => {
                    let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2_000).min(366 * 86_400);
                    (LeadStatus::RetryScheduled, Some(into_window(now + Duration::seconds(secs))))
                }
            },
        }
    };
    if matches!(plan, LeadPlan::Policy) {
        next.callback = false;
        if outcome == CallOutcome::Abandoned && status == LeadStatus::RetryScheduled {
            next.priority = Priority::Urgent;
        }
    }
    if let Err(e) = lead.status.transition(status) {
        // Only lost callbacks lead here (dialing → completed, say). The call
        // is over whatever the lifecycle table says, so the lead follows it.
        tracing::warn!(lead_id = %lead.id, error = %e, "lead lifecycle bypassed to close its call");
    }
    next.status = status;
    next.next_attempt_at = at;
    next
}

/// The conditional move of a salesperson still on this call to wrap-up, when
/// they are: (user, op).
async fn wrap_up_op(deps: &Deps, call: &Call, now: DateTime<Utc>) -> Result<Option<(UserId, WriteOp)>, DialingError> {
    let Some(sp) = &call.salesperson_id else {
        return Ok(None);
    };
    if !repo::users::on_call_with(deps.store.as_ref(), sp, &call.id).await? {
        return Ok(None);
    }
    Ok(Some((sp.clone(), repo::users::wrap_up_op(sp, &call.id, now))))
}

/// The mark that the salesperson's leg of the call (its `AGENTCALL` link)
/// ended, written with the conditional [`wrap_up_op`] in one transaction.
fn leg_release_op(call: &Call, user: &UserId, now: DateTime<Utc>) -> WriteOp {
    repo::calls::agent_release_op(&call.id, call.created_at, user, now)
}

/// The changes that end the call.
fn call_end_changes(
    call: &Call,
    status: CallStatus,
    outcome: CallOutcome,
    end: &CallEnd,
    now: DateTime<Utc>,
) -> CallChanges {
    let talk = end.talk_secs.or(if outcome == CallOutcome::Connected { end.duration_secs } else { None });
    let sequence = match (call.last_sequence, end.sequence) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let mut c = CallChanges::new().status(status).outcome(outcome).ended_at(now);
    if let Some(a) = end.answered_by {
        c = c.answered_by(a);
    }
    if let Some(r) = end.ring_secs {
        c = c.ring_secs(r);
    }
    if let Some(t) = talk {
        c = c.talk_secs(t);
    }
    if let Some(s) = sequence {
        c = c.last_sequence(s);
    }
    c
}

/// Closes a call under `plan`; see [`finish_call`].
pub(crate) async fn close(
    deps: &Deps,
    call_id: &CallId,
    end: CallEnd,
    plan: LeadPlan,
) -> Result<FinishOutcome, DialingError> {
    if !end.status.is_terminal() {
        return Err(DialingError::Invalid(format!("{} is not a terminal call status", end.status)));
    }
    for _ in 0..MAX_ATTEMPTS {
        let Some(call) = repo::calls::get(deps.store.as_ref(), call_id).await? else {
            return Ok(FinishOutcome::UnknownCall);
        };
        let span = tracing::Span::current();
        span.record("lead_id", tracing::field::display(&call.lead_id));
        if let Some(sid) = &call.twilio_sid {
            span.record("call_sid", sid.as_str());
        }
        if call.status.is_terminal() {
            return Ok(FinishOutcome::AlreadyFinished);
        }
        let now = deps.clock.now();
        let settings = repo::settings::get(deps.store.as_ref()).await?;
        let connected_at = call.connected_at.or(end.connected_at);
        let status = legal_end(call.status, end.status, connected_at.is_some());
        let Some(outcome) = CallOutcome::from_status(status) else {
            return Err(DialingError::Invalid(format!("{status} has no outcome")));
        };

        let mut ops = Vec::with_capacity(8);
        let mut changes = call_end_changes(&call, status, outcome, &end, now);
        if outcome == CallOutcome::Connected {
            if let Some(at) = connected_at {
                changes = changes.connected_at_once(at);
            }
        }
        if let Some(at) = end.safe_harbor_at {
            changes = changes.safe_harbor_at_once(at);
        }
        ops.push(repo::calls::update_op(&mut call.clone(), changes));
        let lead = repo::leads::get(deps.store.as_ref(), &call.lead_id).await?;
        let linked = lead
            .as_ref()
            .filter(|l| l.status.is_active() && l.last_call_id.as_ref() == Some(&call.id))
            .map(|l| next_lead(l, &call, outcome, end.invalid_number, plan, &settings, now));
        let mut new_lead = None;
        if let Some(mut next) = linked {
            ops.push(repo::leads::save_op(&mut next));
            new_lead = Some(next);
        }
        ops.push(repo::pacing::release_op());
        // The connect delay: from the answer to the salesperson (or to the
        // safe-harbor message).
        let reached = if outcome == CallOutcome::Connected { connected_at } else { end.safe_harbor_at };
        let wait_ms = match (call.answered_at, reached) {
            (Some(a), Some(b)) => Some((b - a).num_milliseconds().max(0)),
            _ => None,
        };
        let talk = end.talk_secs.or(end.duration_secs).unwrap_or(0);
        ops.push(repo::stats::call_finished_op(call.created_at, outcome, talk, wait_ms));
        ops.push(repo::inflight::finish_op(&call));
        let wrap = wrap_up_op(deps, &call, now).await?;
        let wrapped_user = wrap.as_ref().map(|(u, _)| u.clone());
        if let Some((user, op)) = wrap {
            ops.push(op);
            ops.push(leg_release_op(&call, &user, now));
        }

        match deps.store.transact_write(ops).await {
            Ok(()) => {}
            Err(e) if e.is_condition_failed() || e.is_retryable() => {
                tracing::debug!(error = %e, "finish lost a race; re-reading");
                continue;
            }
            Err(e) => return Err(e.into()),
        }

        tracing::info!(%status, outcome = outcome.as_str(), "call finished");
        after_finish(deps, &call, status, outcome, &end, new_lead.as_ref(), wrapped_user, &settings, now).await;
        let (lead_status, next_attempt_at) = match (&new_lead, &lead) {
            (Some(l), _) | (None, Some(l)) => (l.status, l.next_attempt_at),
            (None, None) => (LeadStatus::Invalid, None),
        };
        return Ok(FinishOutcome::Finished { lead_status, next_attempt_at });
    }
    Err(DialingError::Contention(format!("finishing call {call_id} kept losing races")))
}

/// Events and follow-up messages once the finish is stored. Best effort:
/// the table is already right, and the scheduler's minute tick covers a lost
/// nudge.
#[allow(clippy::too_many_arguments)]
async fn after_finish(
    deps: &Deps,
    call: &Call,
    status: CallStatus,
    outcome: CallOutcome,
    end: &CallEnd,
    lead: Option<&Lead>,
    wrapped_user: Option<UserId>,
    settings: &Settings,
    now: DateTime<Utc>,
) {
    let connected_at = if outcome == CallOutcome::Connected { call.connected_at.or(end.connected_at) } else { None };
    deps.emit(EventKind::CallCompleted {
        call_id: call.id.clone(),
        lead_id: call.lead_id.clone(),
        salesperson_id: call.salesperson_id.clone(),
        status,
        outcome,
        ring_secs: end.ring_secs.or(call.ring_secs),
        talk_secs: end.talk_secs.or(call.talk_secs),
        connected_at,
    })
    .await;
    if let Some(lead) = lead {
        deps.emit(EventKind::lead_updated(lead)).await;
    }
    if let Some(user_id) = wrapped_user {
        deps.emit(EventKind::UserAvailability { user_id: user_id.clone(), availability: Availability::WrapUp }).await;
        let msg = QueueMessage::WrapUpEnd { user_id, since_ms: now.timestamp_millis() };
        let delay = StdDuration::from_secs(settings.wrap_up_secs as u64).min(MAX_DELAY);
        if let Err(e) = deps.queue.send(&msg.to_body(), delay).await {
            tracing::warn!(error = %e, "could not queue the end of wrap-up");
        }
    }
    if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), StdDuration::ZERO).await {
        tracing::warn!(error = %e, "could not queue a nudge");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illegal_ends_fall_back_to_the_closest_legal_one() {
        assert_eq!(legal_end(CallStatus::Ringing, CallStatus::NoAnswer, false), CallStatus::NoAnswer);
        assert_eq!(legal_end(CallStatus::Bridged, CallStatus::NoAnswer, true), CallStatus::Completed);
        assert_eq!(legal_end(CallStatus::Answered, CallStatus::Busy, false), CallStatus::Abandoned);
        assert_eq!(legal_end(CallStatus::Created, CallStatus::Abandoned, false), CallStatus::Failed);
    }

    #[test]
    fn completed_only_with_a_join_seen() {
        assert_eq!(legal_end(CallStatus::Bridged, CallStatus::Completed, true), CallStatus::Completed);
        assert_eq!(legal_end(CallStatus::Bridged, CallStatus::Completed, false), CallStatus::Abandoned);
        assert_eq!(legal_end(CallStatus::Bridged, CallStatus::NoAnswer, false), CallStatus::Abandoned);
        assert_eq!(legal_end(CallStatus::Answered, CallStatus::Completed, false), CallStatus::Abandoned);
        assert_eq!(legal_end(CallStatus::Ringing, CallStatus::Completed, false), CallStatus::Failed);
    }
}
