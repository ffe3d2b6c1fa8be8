//! Repairs run by the scheduler's tick: sessions left connecting (a lost
//! callback, an ambiguous create), salespeople left in wrap-up (a lost
//! delayed message, a restart of local mode). Users are
//! few (tens), so they are listed; each repair is a conditional write.

use chrono::Duration;
use ibrat_domain::{AgentSession, Availability, EventKind, LineState, Role, SessionEndReason};

use super::control::{close, is_live, nudge, record_sid, Closed};
use super::error::SessionError;
use crate::context::Deps;
use crate::repo;

/// Tunables of the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepOptions {
    /// A session still connecting after this long is checked with Twilio
    /// (longer than any ring timeout).
    pub connecting_for: Duration,
    /// Grace beyond the wrap-up time before a wrap-up counts as stuck.
    pub wrap_up_grace: Duration,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions { connecting_for: Duration::seconds(90), wrap_up_grace: Duration::seconds(30) }
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Connecting sessions ended (their phone never reached the room).
    pub sessions_closed: u32,
    /// Connecting sessions whose leg's SID was learnt from Twilio.
    pub sids_found: u32,
    /// Salespeople taken out of a stuck wrap-up.
    pub wrap_ups_ended: u32,
}

/// Runs every repair once.
pub async fn sweep(deps: &Deps, opts: &SweepOptions) -> Result<SweepOutcome, SessionError> {
    let store = deps.store.as_ref();
    let settings = repo::settings::get(store).await?;
    let now = deps.clock.now();
    let mut out = SweepOutcome::default();
    for rec in repo::users::list_all(store).await? {
        let user = rec.user;
        if user.role != Role::Salesperson {
            continue;
        }
        let session = repo::sessions::get(store, &user.id).await?;
        if let Some(s) = session.as_ref().filter(|s| s.line == LineState::Connecting) {
            if now - s.started_at > opts.connecting_for {
                resolve_connecting(deps, s, user.phone.as_ref().map(|p| p.as_str()), &mut out).await?;
            }
        }
        let line_up = session.as_ref().is_some_and(AgentSession::is_routable);
        if user.availability == Availability::WrapUp {
            let due =
                user.availability_since + Duration::seconds(i64::from(settings.wrap_up_secs)) + opts.wrap_up_grace;
            if now >= due {
                let to = if line_up { Availability::Available } else { Availability::Away };
                let mut ops = vec![repo::users::end_wrap_up_op(&user.id, user.availability_since, to, now)];
                if line_up {
                    ops.push(repo::sessions::line_is_up(&user.id));
                }
                match store.transact_write(ops).await {
                    Ok(()) => {
                        tracing::warn!(user_id = %user.id, availability = to.as_str(), "stuck wrap-up ended");
                        out.wrap_ups_ended += 1;
                        deps.emit(EventKind::UserAvailability { user_id: user.id.clone(), availability: to }).await;
                        if to == Availability::Available {
                            nudge(deps).await;
                        }
                    }
                    Err(e) if e.is_condition_failed() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(out)
}

/// Asks Twilio what became of a session's leg: over → the session ends
/// with the matching reason; live with a SID we lacked → recorded (the
/// callbacks finish the job); nothing placed at all → ended `failed`.
async fn resolve_connecting(
    deps: &Deps,
    s: &AgentSession,
    phone: Option<&str>,
    out: &mut SweepOutcome,
) -> Result<(), SessionError> {
    let remote = match (&s.agent_call_sid, phone) {
        (Some(sid), _) => match deps.telephony.fetch_call(sid).await {
            Ok(r) => Some(r),
            Err(ibrat_ports::TelephonyError::NotFound) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not check a connecting line");
                return Ok(());
            }
        },
        (None, Some(p)) => match deps.telephony.list_calls_to(p, s.started_at).await {
            Ok(calls) => calls.into_iter().find(|c| is_live(&c.status)),
            Err(e) => {
                tracing::warn!(error = %e, "could not list a connecting line's calls");
                return Ok(());
            }
        },
        (None, None) => None,
    };
    let reason = match &remote {
        Some(r) if is_live(&r.status) => {
            if s.agent_call_sid.is_none() && record_sid(deps, &s.user_id, s.started_at, &r.sid).await? {
                out.sids_found += 1;
            }
            if r.status != "in-progress" {
                return Ok(());
            }
            // Answered long ago and still not in the room: the line is lost.
            SessionEndReason::LineLost
        }
        Some(r) => match r.status.as_str() {
            "no-answer" => SessionEndReason::NoAnswer,
            "busy" => SessionEndReason::Busy,
            "completed" => SessionEndReason::AgentHungUp,
            _ => SessionEndReason::Failed,
        },
        None => SessionEndReason::Failed,
    };
    if close(deps, &s.user_id, Some(s.started_at), None, reason).await? == Closed::Ended {
        out.sessions_closed += 1;
        if let Some(r) = remote.filter(|r| is_live(&r.status)) {
            if let Err(e) = deps.telephony.end_call(&r.sid).await {
                tracing::warn!(error = %e, "could not hang up a lost line");
            }
        }
    }
    Ok(())
}
