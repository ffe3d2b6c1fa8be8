//! The `<Dial action>` request: the salesperson's leg ended. A conversation
//! that happened sends the salesperson to wrap-up; a salesperson who did not
//! pick up is set away and the next free one is tried, once, before the
//! person hears the abandonment message.

use std::time::Duration as StdDuration;

use ibrat_domain::{AnsweredBy, Availability, CallId, CallOutcome, CallStatus, Settings};
use ibrat_ports::queue::MAX_DELAY;
use tracing::Instrument;

use super::common::{abandon_message, finished_outcome, release_salesperson, MAX_ROUNDS};
use super::error::CallflowError;
use super::routing::{announce, claim, Bridge, Claim};
use crate::context::Deps;
use crate::dialing::finish::{finish_call, CallEnd};
use crate::messages::QueueMessage;
use crate::repo::{self, calls::CallChanges, calls::CallRecord};

/// Salespeople tried per call: the first and, when they do not answer, one
/// more.
pub const MAX_BRIDGE_ATTEMPTS: u32 = 2;

/// Twilio's `DialCallStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialCallStatus {
    Completed,
    Answered,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl DialCallStatus {
    /// Parses Twilio's value; anything unknown counts as `failed`, so the
    /// person is still routed or told (never left in silence).
    pub fn from_twilio(s: &str) -> Self {
        match s.trim() {
            "completed" => Self::Completed,
            "answered" => Self::Answered,
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            "canceled" => Self::Canceled,
            _ => Self::Failed,
        }
    }
}

/// What the dial action tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialResult {
    pub dial_call_status: DialCallStatus,
    /// Twilio `DialCallDuration`: seconds the salesperson talked.
    pub dial_call_duration: Option<u32>,
    /// The bridge attempt the action URL named (None: the current one).
    pub attempt: Option<u32>,
}

/// What to do with the lead's leg now; rendered as TwiML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialDecision {
    /// The conversation is over (or the call already ended): hang up.
    Hangup,
    /// Ring this (next) salesperson.
    BridgeTo(Bridge),
    /// Nobody (else) is free: say `message`, then hang up.
    Abandon { message: String },
}

/// Handles the end of a salesperson's leg. `completed`: the salesperson goes
/// to wrap-up (only if still on this call) with a delayed `WrapUpEnd`, and
/// the talk time is recorded. `no-answer`/`busy`/`failed`: the salesperson
/// goes away, and the next available one is tried once; otherwise the call
/// is finished as abandoned. Repeated or late results for an earlier
/// attempt re-answer the current state and change nothing.
pub async fn on_dial_action(deps: &Deps, call_id: &CallId, result: DialResult) -> Result<DialDecision, CallflowError> {
    let span = tracing::info_span!(
        "on_dial_action",
        call_id = %call_id,
        lead_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        dial_status = ?result.dial_call_status,
        attempt = ?result.attempt,
    );
    handle(deps, call_id, result).instrument(span).await
}

async fn handle(deps: &Deps, call_id: &CallId, result: DialResult) -> Result<DialDecision, CallflowError> {
    let settings = repo::settings::get(deps.store.as_ref()).await?;
    for _ in 0..MAX_ROUNDS {
        let Some(record) = repo::calls::get_record(deps.store.as_ref(), call_id).await? else {
            tracing::warn!("dial action for an unknown call");
            return Ok(DialDecision::Hangup);
        };
        let span = tracing::Span::current();
        span.record("lead_id", tracing::field::display(&record.call.lead_id));
        if record.call.status.is_terminal() {
            return Ok(after_end(&record, &settings));
        }
        let (CallStatus::Bridged, Some(salesperson)) = (record.call.status, record.call.salesperson_id.clone()) else {
            tracing::warn!(status = %record.call.status, "dial action for a call that was never bridged");
            return Ok(DialDecision::Hangup);
        };
        span.record("user_id", tracing::field::display(&salesperson));
        if let Some(attempt) = result.attempt {
            if attempt != record.bridge_attempts {
                tracing::info!(current = record.bridge_attempts, "dial result for an earlier attempt; re-answering");
                return current_bridge(deps, &record, &settings).await;
            }
        }
        let now = deps.clock.now();
        match result.dial_call_status {
            DialCallStatus::Completed | DialCallStatus::Answered => {
                if release_salesperson(deps, &salesperson, &record.call, Availability::WrapUp, now).await? {
                    let msg =
                        QueueMessage::WrapUpEnd { user_id: salesperson.clone(), since_ms: now.timestamp_millis() };
                    let delay = StdDuration::from_secs(u64::from(settings.wrap_up_secs)).min(MAX_DELAY);
                    if let Err(e) = deps.queue.send(&msg.to_body(), delay).await {
                        // Best effort, as in `finish_call`: the wrap-up is
                        // stored; the salesperson can end it with a disposition.
                        tracing::warn!(error = %e, "could not queue the end of wrap-up");
                    }
                    tracing::info!("conversation over; salesperson in wrap-up");
                }
                if let Some(talk) = result.dial_call_duration {
                    if record.call.talk_secs != Some(talk) && !record_talk(deps, &record, talk).await? {
                        continue;
                    }
                }
                return Ok(DialDecision::Hangup);
            }
            DialCallStatus::Canceled => {
                // The person hung up while the salesperson's phone rang: the
                // salesperson did nothing wrong and is free again.
                release_salesperson(deps, &salesperson, &record.call, Availability::Available, now).await?;
                return Ok(DialDecision::Hangup);
            }
            DialCallStatus::NoAnswer | DialCallStatus::Busy | DialCallStatus::Failed => {
                if release_salesperson(deps, &salesperson, &record.call, Availability::Away, now).await? {
                    tracing::info!("salesperson did not pick up; set away");
                }
                if record.bridge_attempts >= MAX_BRIDGE_ATTEMPTS {
                    return abandon(deps, call_id, &settings).await;
                }
                match claim(deps, &record, &[salesperson], record.bridge_attempts + 1).await? {
                    Claim::Claimed { user, phone, record } => {
                        span.record("user_id", tracing::field::display(&user.user.id));
                        let lead = repo::leads::get(deps.store.as_ref(), &record.call.lead_id).await?;
                        let caller_id = lead.as_ref().map_or(deps.config.twilio_from.as_str(), |l| l.phone.as_str());
                        let bridge = Bridge::new(&user, &phone, caller_id, &settings, record.bridge_attempts);
                        announce(deps, &record, &user, lead.as_ref()).await;
                        tracing::info!("trying the next salesperson");
                        return Ok(DialDecision::BridgeTo(bridge));
                    }
                    Claim::NobodyFree => return abandon(deps, call_id, &settings).await,
                    Claim::CallChanged => continue,
                }
            }
        }
    }
    Err(CallflowError::Contention(format!("dial action of call {call_id} kept losing races")))
}

/// Stores the talk time on the open call; Ok(false) on a lost race.
async fn record_talk(deps: &Deps, record: &CallRecord, talk: u32) -> Result<bool, CallflowError> {
    let mut call = record.call.clone();
    let op = repo::calls::update_op(&mut call, CallChanges::new().talk_secs(talk));
    match deps.store.transact_write(vec![op]).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failed() || e.is_retryable() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Finishes the call as abandoned and tells the person.
async fn abandon(deps: &Deps, call_id: &CallId, settings: &Settings) -> Result<DialDecision, CallflowError> {
    let end = CallEnd { answered_by: Some(AnsweredBy::Human), ..CallEnd::status(CallStatus::Abandoned) };
    let outcome = finish_call(deps, call_id, end).await?;
    tracing::info!(?outcome, "no salesperson took the call; abandoned");
    Ok(DialDecision::Abandon { message: abandon_message(settings) })
}

/// The answer matching the call's current bridge (for a late result).
async fn current_bridge(deps: &Deps, record: &CallRecord, settings: &Settings) -> Result<DialDecision, CallflowError> {
    let call = &record.call;
    let user = match &call.salesperson_id {
        Some(id) => repo::users::get(deps.store.as_ref(), id).await?,
        None => None,
    };
    let Some(user) = user.filter(|u| u.user.availability == Availability::OnCall) else {
        return Ok(DialDecision::Hangup);
    };
    let Some(phone) = user.user.phone.as_ref().map(|p| p.as_str().to_owned()) else {
        return Ok(DialDecision::Hangup);
    };
    let lead = repo::leads::get(deps.store.as_ref(), &call.lead_id).await?;
    let caller_id = lead.as_ref().map_or(deps.config.twilio_from.as_str(), |l| l.phone.as_str());
    Ok(DialDecision::BridgeTo(Bridge::new(&user, &phone, caller_id, settings, record.bridge_attempts)))
}

/// The answer for a call that already ended.
fn after_end(record: &CallRecord, settings: &Settings) -> DialDecision {
    match finished_outcome(&record.call) {
        Some(CallOutcome::Abandoned) => DialDecision::Abandon { message: abandon_message(settings) },
        _ => DialDecision::Hangup,
    }
}
