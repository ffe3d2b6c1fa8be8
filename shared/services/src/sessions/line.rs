//! Twilio's callbacks for salespeople's lines: the voice request of their
//! leg (answered: into their room), its status callbacks (not answered, hung
//! up) and the rooms' conference callbacks. A participant-join of their own
//! leg is what makes them routable; a lead's leg joining or leaving is
//! handed to the call flow, which alone says "connected".
//!
//! Callbacks arrive late, twice and out of order: each names the session it
//! belongs to (`session` = its start) and the leg (`CallSid`), and every
//! write is conditioned on the session's version, so a stale one changes
//! nothing.

use ibrat_domain::session::room_owner;
use ibrat_domain::{AgentSession, Availability, CallId, LineState, SessionEndReason, UserId};

use super::control::{close, emit_session, nudge, record_sid, Closed};
use super::error::SessionError;
use crate::callflow::{self, RoomLeg};
use crate::context::Deps;
use crate::repo;

/// Which session a callback of a salesperson's leg is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    pub user_id: UserId,
    /// The session's start, epoch milliseconds.
    pub started_ms: i64,
}

impl SessionRef {
    fn matches(&self, session: &AgentSession) -> bool {
        session.user_id == self.user_id && session.started_at.timestamp_millis() == self.started_ms
    }
}

/// What the salesperson's answered leg does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentVoiceDecision {
    /// Hold them in their room.
    JoinRoom { room: String },
    /// The session is over or another leg holds it: hang up.
    Hangup,
}

/// The salesperson answered their phone: record the leg's SID (if the
/// create's answer did not) and put them in their room.
pub async fn on_agent_voice(deps: &Deps, r: &SessionRef, call_sid: &str) -> Result<AgentVoiceDecision, SessionError> {
    let Some(session) = repo::sessions::get(deps.store.as_ref(), &r.user_id).await? else {
        return Ok(AgentVoiceDecision::Hangup);
    };
    if !r.matches(&session) || !session.is_open() {
        tracing::info!(user_id = %r.user_id, "voice request of an old session's leg; hanging up");
        return Ok(AgentVoiceDecision::Hangup);
    }
    match session.agent_call_sid.as_deref() {
        Some(sid) if sid != call_sid => {
            tracing::warn!(user_id = %r.user_id, recorded = sid, got = call_sid, "another leg for this session; hanging up");
            return Ok(AgentVoiceDecision::Hangup);
        }
        Some(_) => {}
        None => {
            if !record_sid(deps, &r.user_id, session.started_at, call_sid).await? {
                return Ok(AgentVoiceDecision::Hangup);
            }
        }
    }
    Ok(AgentVoiceDecision::JoinRoom { room: session.room() })
}

/// A status callback of a salesperson's leg: a final status ends the
/// session with the matching reason (not answered, busy, failed, hung up).
/// Returns the reason when it ended the session now.
pub async fn on_agent_status(
    deps: &Deps,
    r: &SessionRef,
    call_sid: &str,
    call_status: &str,
) -> Result<Option<SessionEndReason>, SessionError> {
    let reason = match call_status.trim() {
        "completed" => SessionEndReason::AgentHungUp,
        "no-answer" => SessionEndReason::NoAnswer,
        "busy" => SessionEndReason::Busy,
        "failed" | "canceled" => SessionEndReason::Failed,
        _ => {
            // Progress: learn the SID early if the create's answer was lost.
            if let Some(session) = repo::sessions::get(deps.store.as_ref(), &r.user_id).await? {
                if r.matches(&session) && session.is_open() && session.agent_call_sid.is_none() {
                    record_sid(deps, &r.user_id, session.started_at, call_sid).await?;
                }
            }
            return Ok(None);
        }
    };
    let Some(session) = repo::sessions::get(deps.store.as_ref(), &r.user_id).await? else {
        return Ok(None);
    };
    if !r.matches(&session) {
        return Ok(None);
    }
    let closed = close(deps, &r.user_id, Some(session.started_at), Some(call_sid), reason).await?;
    Ok((closed == Closed::Ended).then_some(reason))
}

/// Twilio's `StatusCallbackEvent` of a conference callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConferenceEventKind {
    Start,
    End,
    Join,
    Leave,
    /// Mute, hold, speaker, ...: not acted on.
    Other,
}

impl ConferenceEventKind {
    /// Parses Twilio's value (`participant-join`, ...).
    pub fn from_twilio(s: &str) -> Self {
        match s.trim() {
            "conference-start" => Self::Start,
            "conference-end" => Self::End,
            "participant-join" => Self::Join,
            "participant-leave" => Self::Leave,
            _ => Self::Other,
        }
    }
}

/// One conference callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceEvent {
    /// `FriendlyName`: the room (`agent-<user_id>`).
    pub room: String,
    pub kind: ConferenceEventKind,
    /// The participant's leg, for participant events.
    pub call_sid: Option<String>,
}

/// What a conference callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConferenceOutcome {
    /// The salesperson's leg joined: their line is up, they are ready.
    LineUp,
    /// The salesperson's leg left: their session ended.
    LineEnded,
    /// A lead's leg joined the salesperson: the call is connected.
    Connected { call_id: CallId },
    /// A lead's leg left: the conversation is over.
    LeadLeft { call_id: CallId },
    /// Nothing to do (a duplicate, a late event, a room-level event).
    Ignored { reason: &'static str },
}

/// Applies one conference callback.
pub async fn on_conference_event(deps: &Deps, ev: &ConferenceEvent) -> Result<ConferenceOutcome, SessionError> {
    let Some(owner) = room_owner(&ev.room) else {
        return Ok(ConferenceOutcome::Ignored { reason: "not one of our rooms" });
    };
    let (kind, Some(sid)) = (ev.kind, ev.call_sid.as_deref()) else {
        return Ok(ConferenceOutcome::Ignored { reason: "room event" });
    };
    if !matches!(kind, ConferenceEventKind::Join | ConferenceEventKind::Leave) {
        return Ok(ConferenceOutcome::Ignored { reason: "participant event not acted on" });
    }
    let session = repo::sessions::get(deps.store.as_ref(), &owner).await?;
    let own_leg = session.as_ref().filter(|s| s.agent_call_sid.as_deref() == Some(sid));
    match (kind, own_leg) {
        (ConferenceEventKind::Join, Some(s)) => line_up(deps, s.clone()).await,
        (ConferenceEventKind::Leave, Some(s)) => {
            match close(deps, &owner, Some(s.started_at), Some(sid), SessionEndReason::AgentHungUp).await? {
                Closed::Ended => Ok(ConferenceOutcome::LineEnded),
                Closed::Stale => Ok(ConferenceOutcome::Ignored { reason: "session already over" }),
            }
        }
        (ConferenceEventKind::Join, None) => {
            Ok(match callflow::on_room_leg(deps, &owner, sid, RoomLeg::Joined).await? {
                Some(call_id) => ConferenceOutcome::Connected { call_id },
                None => ConferenceOutcome::Ignored { reason: "no call of this salesperson has this leg" },
            })
        }
        _ => Ok(match callflow::on_room_leg(deps, &owner, sid, RoomLeg::Left).await? {
            Some(call_id) => ConferenceOutcome::LeadLeft { call_id },
            None => ConferenceOutcome::Ignored { reason: "no call of this salesperson has this leg" },
        }),
    }
}

/// Rounds of re-reading after a lost race.
const ROUNDS: usize = 6;

/// The salesperson's leg is in their room: session up and the salesperson
/// ready (unless they are on a call already), in one transaction.
async fn line_up(deps: &Deps, mut session: AgentSession) -> Result<ConferenceOutcome, SessionError> {
    for _ in 0..ROUNDS {
        if session.line != LineState::Connecting {
            return Ok(ConferenceOutcome::Ignored { reason: "line already up or over" });
        }
        let now = deps.clock.now();
        let user = session.user_id.clone();
        let ops = vec![repo::sessions::line_up_op(&mut session, now), repo::users::ready_unless_on_call_op(&user, now)];
        match deps.store.transact_write(ops).await {
            Ok(()) => {
                tracing::info!(user_id = %user, "line up; salesperson ready");
                emit_session(deps, &session, Availability::Available).await;
                deps.emit(ibrat_domain::EventKind::UserAvailability {
                    user_id: user.clone(),
                    availability: Availability::Available,
                })
                .await;
                nudge(deps).await;
                return Ok(ConferenceOutcome::LineUp);
            }
            Err(e) if e.is_condition_failed() || e.is_retryable() => {
                match repo::sessions::get(deps.store.as_ref(), &user).await? {
                    Some(s) if s.started_at == session.started_at => session = s,
                    _ => return Ok(ConferenceOutcome::Ignored { reason: "session replaced" }),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(SessionError::Contention("bringing a line up kept losing races".into()))
}
