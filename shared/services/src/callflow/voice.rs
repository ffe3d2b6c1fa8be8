//! The voice webhook: the lead's phone was answered. A person is put in the
//! room of the longest-idle ready salesperson (whose line is open, so they
//! hear the person at once); a machine is left a message or hung up on; with
//! nobody ready the person hears the safe-harbor message and the call is
//! abandoned (the lead is called back soon, at top priority).

use ibrat_domain::{AnsweredBy, CallId, CallOutcome, CallStatus, EventKind, Lead, LeadStatus, MachineAction, Settings};
use tracing::Instrument;

use super::common::{finished_outcome, is_machine, safe_harbor, secs_between, MAX_ROUNDS};
use super::error::CallflowError;
use super::routing::{announce, claim, Claim, RoomJoin};
use crate::context::Deps;
use crate::dialing::finish::{finish_call, CallEnd};
use crate::repo::{self, calls::CallChanges, calls::CallRecord};

/// What the voice request tells us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoiceInput {
    /// Twilio's answering-machine verdict (None without detection: a person
    /// is assumed).
    pub answered_by: Option<AnsweredBy>,
    /// Twilio's `CallSid`: checked against the call's, recorded when the
    /// placing request's answer was lost.
    pub call_sid: Option<String>,
}

/// Why the answer is a plain hang-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupReason {
    /// We know no such call.
    UnknownCall,
    /// The call has already ended.
    CallOver,
    /// The request is for another Twilio call than the one recorded.
    SidMismatch,
}

/// What to do with the answered call; the HTTP layer renders it as TwiML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceDecision {
    /// Put the person in this salesperson's room.
    JoinRoom(RoomJoin),
    /// A machine or fax answered: leave `voicemail` when set, then hang up.
    Machine { voicemail: Option<String> },
    /// A person answered and nobody is ready: say the safe-harbor
    /// `message`, then hang up.
    Abandon { message: String },
    /// Hang up politely.
    Hangup { reason: HangupReason },
}

/// Decides what an answered call does. For a person: the call is answered,
/// the lead in call, and the longest-idle ready salesperson claimed
/// atomically (on a lost race the next one is tried); `CallIncoming` reaches
/// that salesperson before this returns, so the screen pop comes before the
/// audio. Machines finish the call as `machine`; nobody ready finishes it as
/// `abandoned` with `safe_harbor_at` set. Bounded work, no waiting, so the
/// person hears someone well within two seconds.
pub async fn on_voice(deps: &Deps, call_id: &CallId, input: VoiceInput) -> Result<VoiceDecision, CallflowError> {
    let span = tracing::info_span!(
        "on_voice",
        call_id = %call_id,
        lead_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        answered_by = ?input.answered_by,
    );
    handle(deps, call_id, input).instrument(span).await
}

async fn handle(deps: &Deps, call_id: &CallId, input: VoiceInput) -> Result<VoiceDecision, CallflowError> {
    let settings = repo::settings::get(deps.store.as_ref()).await?;
    for _ in 0..MAX_ROUNDS {
        let Some(mut record) = repo::calls::get_record(deps.store.as_ref(), call_id).await? else {
            tracing::warn!("voice request for an unknown call");
            return Ok(VoiceDecision::Hangup { reason: HangupReason::UnknownCall });
        };
        tracing::Span::current().record("lead_id", tracing::field::display(&record.call.lead_id));
        if let (Some(recorded), Some(got)) = (record.call.twilio_sid.as_deref(), input.call_sid.as_deref()) {
            if recorded != got {
                tracing::warn!(recorded, got, "voice request for another Twilio call; hanging it up");
                return Ok(VoiceDecision::Hangup { reason: HangupReason::SidMismatch });
            }
        }
        if record.call.status.is_terminal() {
            return Ok(after_end(deps, &record, &settings));
        }
        if record.call.status == CallStatus::Bridged {
            // A repeated request: answer what the first one decided.
            return Ok(rejoin(&record));
        }
        if is_machine(input.answered_by) {
            let end = CallEnd { answered_by: input.answered_by, ..CallEnd::status(CallStatus::Machine) };
            let outcome = finish_call(deps, call_id, end).await?;
            tracing::info!(?outcome, "answered by a machine");
            return Ok(machine_decision(&settings));
        }

        let lead = repo::leads::get(deps.store.as_ref(), &record.call.lead_id).await?;
        if !answer(deps, &mut record, lead.clone(), &input).await? {
            continue;
        }
        match claim(deps, &record).await? {
            Claim::Claimed { user, record } => {
                tracing::Span::current().record("user_id", tracing::field::display(&user.user.id));
                announce(deps, &record, &user, lead.as_ref()).await;
                tracing::info!("into the longest-idle ready salesperson's room");
                return Ok(VoiceDecision::JoinRoom(RoomJoin::new(&user.user.id)));
            }
            Claim::NobodyFree => {
                let end = CallEnd {
                    answered_by: Some(AnsweredBy::Human),
                    safe_harbor_at: Some(deps.clock.now()),
                    ..CallEnd::status(CallStatus::Abandoned)
                };
                let outcome = finish_call(deps, call_id, end).await?;
                tracing::info!(?outcome, "nobody ready; safe-harbor message, call abandoned");
                return Ok(VoiceDecision::Abandon { message: safe_harbor(deps, &settings) });
            }
            Claim::CallChanged => continue,
        }
    }
    Err(CallflowError::Contention(format!("answering call {call_id} kept losing races")))
}

/// Marks the call answered by a person and the lead in call, in one
/// transaction; emits `CallAnswered` when the call moved. Ok(false) when the
/// call or lead changed meanwhile (re-read and decide again).
async fn answer(
    deps: &Deps,
    record: &mut CallRecord,
    lead: Option<Lead>,
    input: &VoiceInput,
) -> Result<bool, CallflowError> {
    let now = deps.clock.now();
    let call = &mut record.call;
    let verdict = input.answered_by.unwrap_or(AnsweredBy::Human);
    let moves = call.status != CallStatus::Answered;
    let mut lead = lead.filter(|l| {
        matches!(l.status, LeadStatus::Dialing | LeadStatus::Ringing) && l.last_call_id.as_ref() == Some(&call.id)
    });
    if !moves && call.answered_by == Some(verdict) && lead.is_none() {
        return Ok(true);
    }
    let mut changes = CallChanges::new().status(CallStatus::Answered).answered_by(verdict).answered_at_once(now);
    if let (None, Some(rang)) = (call.ring_secs, call.ringing_at) {
        changes = changes.ring_secs(secs_between(rang, now));
    }
    if let (None, Some(sid)) = (&call.twilio_sid, &input.call_sid) {
        // The placing request's answer was lost; Twilio has the call.
        changes = changes.placement_resolved(sid);
        call.twilio_sid = Some(sid.clone());
        call.placement_unknown_at = None;
    }
    let mut ops = vec![repo::calls::update_op(call, changes)];
    if let Some(l) = lead.as_mut() {
        l.status = LeadStatus::InCall;
        l.updated_at = now;
        ops.push(repo::leads::save_op(l));
    }
    match deps.store.transact_write(ops).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failed() || e.is_retryable() => {
            tracing::debug!(error = %e, "answer lost a race; re-reading");
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    }
    call.status = CallStatus::Answered;
    call.answered_by = Some(verdict);
    call.answered_at = call.answered_at.or(Some(now));
    if moves {
        deps.emit(EventKind::CallAnswered {
            call_id: call.id.clone(),
            lead_id: call.lead_id.clone(),
            answered_by: verdict,
        })
        .await;
    }
    if let Some(l) = &lead {
        deps.emit(EventKind::lead_updated(l)).await;
    }
    Ok(true)
}

/// The decision for a call already routed (a repeated voice request): the
/// same room.
fn rejoin(record: &CallRecord) -> VoiceDecision {
    match &record.call.salesperson_id {
        Some(sp) => VoiceDecision::JoinRoom(RoomJoin::new(sp)),
        None => VoiceDecision::Hangup { reason: HangupReason::CallOver },
    }
}

/// The decision for a call that has ended.
fn after_end(deps: &Deps, record: &CallRecord, settings: &Settings) -> VoiceDecision {
    match finished_outcome(&record.call) {
        Some(CallOutcome::Abandoned) => VoiceDecision::Abandon { message: safe_harbor(deps, settings) },
        Some(CallOutcome::Machine) => machine_decision(settings),
        _ => VoiceDecision::Hangup { reason: HangupReason::CallOver },
    }
}

/// What a machine gets, per settings.
fn machine_decision(settings: &Settings) -> VoiceDecision {
    match &settings.machine_action {
        MachineAction::Hangup => VoiceDecision::Machine { voicemail: None },
        MachineAction::Voicemail { message } => VoiceDecision::Machine { voicemail: Some(message.clone()) },
    }
}
