//! What a salesperson does with their session: start it (their phone is
//! called), end it (their line is hung up) and end the conversation they are
//! in without leaving their line.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use ibrat_domain::{AgentSession, Availability, EventKind, LineState, Role, SessionEndReason, UserId};
use ibrat_ports::{CreateCall, TelephonyError, WriteOp};

use super::error::SessionError;
use super::view::{compose, SessionView};
use super::{SESSION_PARAM, USER_PARAM};
use crate::auth::Actor;
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo::{self, calls as call_repo};

/// Rounds of re-reading after a lost race.
const ROUNDS: usize = 6;

/// Starts a session for the signed-in salesperson: the session is stored as
/// `connecting` (only if none is open) and their phone is called; they are
/// routable once they answer and their leg joins their room. Refused with
/// no phone number (recorded as a session ended `no_phone`), with a session
/// already open, or when Twilio refuses the number. An ambiguous answer from
/// Twilio leaves the session connecting: the leg's callbacks, or the sweep
/// asking Twilio, settle it; the call is never sent twice.
pub async fn start(deps: &Deps, actor: &Actor) -> Result<SessionView, SessionError> {
    if actor.role != Role::Salesperson {
        return Err(SessionError::NotSalesperson);
    }
    let store = deps.store.as_ref();
    let rec = repo::users::get(store, &actor.id).await?.ok_or(SessionError::NotSalesperson)?;
    if !rec.user.active {
        return Err(SessionError::NotSalesperson);
    }
    let previous = repo::sessions::get(store, &actor.id).await?;
    if previous.as_ref().is_some_and(AgentSession::is_open) {
        return Err(SessionError::Active);
    }
    let now = deps.clock.now();
    let mut session = AgentSession::connecting(actor.id.clone(), now);
    session.version = previous.as_ref().map_or(1, |p| p.version + 1);
    let Some(phone) = rec.user.phone.clone() else {
        session.line = LineState::Ended;
        session.ended_at = Some(now);
        session.ended_reason = Some(SessionEndReason::NoPhone);
        store_new(deps, &session).await?;
        emit_session(deps, &session, rec.user.availability).await;
        return Err(SessionError::NoPhoneNumber);
    };
    store_new(deps, &session).await?;
    tracing::info!(user_id = %actor.id, "session started; calling the salesperson's phone");
    emit_session(deps, &session, rec.user.availability).await;

    let settings = repo::settings::get(store).await?;
    let base = deps.config.public_url.trim_end_matches('/');
    let tag = format!("{USER_PARAM}={}&{SESSION_PARAM}={}", actor.id, session.started_at.timestamp_millis());
    let req = CreateCall {
        to: phone.as_str().to_owned(),
        from: settings.caller_id.as_ref().map_or_else(|| deps.config.twilio_from.clone(), |p| p.as_str().to_owned()),
        url: format!("{base}/twilio/agent?{tag}"),
        status_callback: format!("{base}/twilio/agent-status?{tag}"),
        timeout_secs: settings.ring_timeout(),
        machine_detection: None,
    };
    match deps.telephony.create_call(&req).await {
        Ok(placed) => {
            record_sid(deps, &actor.id, session.started_at, &placed.sid).await?;
        }
        Err(TelephonyError::Ambiguous(message)) => {
            tracing::warn!(message, "calling the salesperson's phone: outcome unknown; left connecting");
        }
        Err(e) => {
            let reason = SessionEndReason::Failed;
            close(deps, &actor.id, Some(session.started_at), None, reason).await?;
            return Err(match e {
                TelephonyError::InvalidNumber { message, .. } | TelephonyError::Rejected { message, .. } => {
                    SessionError::PhoneRefused(message)
                }
                other => SessionError::Telephony(other),
            });
        }
    }
    let session = repo::sessions::get(store, &actor.id).await?.ok_or(SessionError::NoSession)?;
    compose(deps, session).await
}

/// Stores a new session over an ended one (or none).
async fn store_new(deps: &Deps, session: &AgentSession) -> Result<(), SessionError> {
    match deps.store.transact_write(vec![repo::sessions::start_op(session)]).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failed() => Err(SessionError::Active),
        Err(e) => Err(e.into()),
    }
}

/// Records the SID of the salesperson's leg on the session that started at
/// `started` (unless a callback already did).
pub(crate) async fn record_sid(
    deps: &Deps,
    user: &UserId,
    started: DateTime<Utc>,
    sid: &str,
) -> Result<bool, SessionError> {
    for _ in 0..ROUNDS {
        let Some(mut session) = repo::sessions::get(deps.store.as_ref(), user).await? else {
            return Ok(false);
        };
        if session.started_at != started || session.agent_call_sid.is_some() {
            return Ok(session.agent_call_sid.as_deref() == Some(sid));
        }
        let op = repo::sessions::set_sid_op(&mut session, sid);
        match deps.store.transact_write(vec![op]).await {
            Ok(()) => return Ok(true),
            Err(e) if e.is_condition_failed() || e.is_retryable() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(SessionError::Contention(format!("recording the line of {user} kept losing races")))
}

/// Ends the signed-in salesperson's session (`agent_ended`) and hangs up
/// their line; a lead in their room is dropped with it (the room ends when
/// they leave).
pub async fn end(deps: &Deps, actor: &Actor) -> Result<SessionView, SessionError> {
    let session = repo::sessions::get(deps.store.as_ref(), &actor.id).await?;
    let Some(session) = session.filter(AgentSession::is_open) else {
        return Err(SessionError::NoSession);
    };
    close(deps, &actor.id, Some(session.started_at), None, SessionEndReason::AgentEnded).await?;
    let session = repo::sessions::get(deps.store.as_ref(), &actor.id).await?.ok_or(SessionError::NoSession)?;
    compose(deps, session).await
}

/// What closing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// The session ended now.
    Ended,
    /// It was already over, or another session (or leg) is current.
    Stale,
}

/// Ends a salesperson's open session for `reason`: the session (if it is
/// still the one that started at `started`, and its leg is `sid` when both
/// are known) and the user (to `away`, off routing, any current call let go)
/// in one transaction. For `agent_ended` their leg is then hung up.
pub(crate) async fn close(
    deps: &Deps,
    user: &UserId,
    started: Option<DateTime<Utc>>,
    sid: Option<&str>,
    reason: SessionEndReason,
) -> Result<Closed, SessionError> {
    for _ in 0..ROUNDS {
        let Some(mut session) = repo::sessions::get(deps.store.as_ref(), user).await? else {
            return Ok(Closed::Stale);
        };
        let other_session = started.is_some_and(|s| s != session.started_at);
        let other_leg = matches!((sid, session.agent_call_sid.as_deref()), (Some(a), Some(b)) if a != b);
        if !session.is_open() || other_session || other_leg {
            return Ok(Closed::Stale);
        }
        let now = deps.clock.now();
        let current = repo::users::get_with_call(deps.store.as_ref(), user).await?;
        let mut ops: Vec<WriteOp> = vec![
            repo::sessions::end_op(&mut session, reason, now),
            repo::users::force_availability_op(user, Availability::Away, now),
        ];
        if let Some((_, Some(call_id))) = &current {
            if let Some(call) = call_repo::get(deps.store.as_ref(), call_id).await? {
                ops.push(call_repo::agent_release_op(&call.id, call.created_at, user, now));
            }
        }
        match deps.store.transact_write(ops).await {
            Ok(()) => {}
            Err(e) if e.is_condition_failed() || e.is_retryable() => continue,
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user, reason = reason.as_str(), "session ended");
        emit_session(deps, &session, Availability::Away).await;
        deps.emit(EventKind::UserAvailability { user_id: user.clone(), availability: Availability::Away }).await;
        if reason == SessionEndReason::AgentEnded {
            hang_up_leg(deps, &session).await;
        }
        return Ok(Closed::Ended);
    }
    Err(SessionError::Contention(format!("ending the session of {user} kept losing races")))
}

/// Hangs up the salesperson's leg (best effort: if it fails, their phone
/// call ends with the room or when they hang up, and callbacks of an ended
/// session change nothing). Without a SID (the create's answer was lost)
/// the calls to their number since the session started are ended.
async fn hang_up_leg(deps: &Deps, session: &AgentSession) {
    let sids = match &session.agent_call_sid {
        Some(sid) => vec![sid.clone()],
        None => {
            let phone = match repo::users::get(deps.store.as_ref(), &session.user_id).await {
                Ok(Some(rec)) => rec.user.phone.map(|p| p.as_str().to_owned()),
                _ => None,
            };
            match phone {
                Some(p) => match deps.telephony.list_calls_to(&p, session.started_at).await {
                    Ok(calls) => calls.into_iter().filter(|c| is_live(&c.status)).map(|c| c.sid).collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not list the salesperson's calls to hang up");
                        Vec::new()
                    }
                },
                None => Vec::new(),
            }
        }
    };
    for sid in sids {
        match deps.telephony.end_call(&sid).await {
            Ok(()) | Err(TelephonyError::NotFound) => {}
            Err(e) => tracing::warn!(error = %e, sid, "could not hang up the salesperson's line"),
        }
    }
}

/// Twilio statuses of a call not yet over.
pub(crate) fn is_live(status: &str) -> bool {
    matches!(status, "queued" | "initiated" | "ringing" | "in-progress")
}

/// Ends the conversation the signed-in salesperson is in: the lead's leg is
/// hung up; the salesperson stays in their room and goes to wrap-up when
/// the call's end is reported. Returns the call.
pub async fn hangup(deps: &Deps, actor: &Actor) -> Result<ibrat_domain::CallId, SessionError> {
    let (rec, current) =
        repo::users::get_with_call(deps.store.as_ref(), &actor.id).await?.ok_or(SessionError::NoActiveCall)?;
    let call_id =
        current.filter(|_| rec.user.availability == Availability::OnCall).ok_or(SessionError::NoActiveCall)?;
    let call = call_repo::get(deps.store.as_ref(), &call_id).await?.ok_or(SessionError::NoActiveCall)?;
    if call.status.is_terminal() {
        return Err(SessionError::NoActiveCall);
    }
    let Some(sid) = call.twilio_sid.as_deref() else {
        return Err(SessionError::NoActiveCall);
    };
    match deps.telephony.end_call(sid).await {
        Ok(()) | Err(TelephonyError::NotFound) => {}
        Err(e) => return Err(SessionError::Telephony(e)),
    }
    tracing::info!(user_id = %actor.id, call_id = %call_id, "salesperson ended the conversation");
    Ok(call_id)
}

/// Tells the salesperson (and admins) where their session is.
pub(crate) async fn emit_session(deps: &Deps, session: &AgentSession, availability: Availability) {
    deps.emit(EventKind::SessionUpdated {
        user_id: session.user_id.clone(),
        line: session.line,
        ended_reason: session.ended_reason,
        availability,
    })
    .await;
}

/// Queues a nudge so the scheduler sees a new ready salesperson at once.
pub(crate) async fn nudge(deps: &Deps) {
    if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), StdDuration::ZERO).await {
        tracing::warn!(error = %e, "could not queue a nudge");
    }
}
