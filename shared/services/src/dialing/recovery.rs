//! Reconciling calls nobody has heard about for a while: a lost status
//! callback, a dialer that died between claim and placement, a Twilio
//! outage. Calls in flight are found through their `INFLIGHT` markers (never
//! a scan); each stale one is fetched from Twilio and finished, or requeued
//! when Twilio never got it. Nothing stays stuck; nothing is dialed twice
//! (a requeued call is closed before its lead can be claimed again).

use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{AnsweredBy, Call, CallStatus};
use ibrat_ports::{RemoteCall, TelephonyError};
use tracing::Instrument;

use super::error::DialingError;
use super::finish::{close, CallEnd, FinishOutcome, LeadPlan};
use crate::context::Deps;
use crate::repo;

/// Tunables of recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// A call with no news (creation or last progress) for longer than this
    /// is checked with Twilio.
    pub stale_after: Duration,
    /// A call whose placement is unknown (the create's answer was lost) is
    /// checked after this long, so its lead is not held for long.
    pub unknown_after: Duration,
    /// Most stale calls checked per run (bounds Twilio requests per tick).
    /// A call found still in progress is not checked again for
    /// `stale_after`, so long calls never crowd out newer stuck ones.
    pub max_checks: usize,
}

impl Default for RecoveryOptions {
    fn default() -> Self {
        RecoveryOptions { stale_after: Duration::minutes(5), unknown_after: Duration::seconds(30), max_checks: 50 }
    }
}

/// What a recovery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryOutcome {
    /// Stale calls looked at.
    pub checked: u32,
    /// Calls finished from Twilio's final status.
    pub finished: u32,
    /// Calls Twilio never got; their leads went back to the queue.
    pub requeued: u32,
    /// Calls Twilio still reports in progress.
    pub still_active: u32,
    /// Markers of calls already finished or missing, removed.
    pub orphans_removed: u32,
    /// Calls that could not be checked this time (Twilio or store errors).
    pub errors: u32,
}

/// Reconciles with the default options; see [`reconcile_with`].
pub async fn reconcile(deps: &Deps) -> Result<RecoveryOutcome, DialingError> {
    reconcile_with(deps, &RecoveryOptions::default()).await
}

/// Checks every call in flight with no news for longer than
/// `opts.stale_after` (oldest first, at most `opts.max_checks`), each at
/// most once per `opts.stale_after`. Run by the scheduled tick only.
pub async fn reconcile_with(deps: &Deps, opts: &RecoveryOptions) -> Result<RecoveryOutcome, DialingError> {
    let now = deps.clock.now();
    let stale_before = now - opts.stale_after;
    let unknown_before = now - opts.unknown_after.min(opts.stale_after);
    let mut out = RecoveryOutcome::default();
    let mut cursor = None;
    loop {
        let (markers, next) = repo::inflight::created_before(deps.store.as_ref(), unknown_before, 100, cursor).await?;
        for marker in markers {
            if out.checked as usize >= opts.max_checks {
                return Ok(out);
            }
            if marker.next_check_at.is_some_and(|at| at > now) {
                // Checked recently and still in progress then.
                continue;
            }
            let call = match &marker.call_id {
                Some(id) => repo::calls::get(deps.store.as_ref(), id).await?,
                None => None,
            };
            let Some(call) = call.filter(|c| !c.status.is_terminal()) else {
                repo::inflight::remove_orphan(deps.store.as_ref(), &marker.key).await?;
                out.orphans_removed += 1;
                continue;
            };
            let unknown = call.placement_unknown_at.is_some_and(|t| t <= unknown_before);
            if !unknown && last_word(&call) > stale_before {
                continue;
            }
            out.checked += 1;
            let span = tracing::info_span!("recover", call_id = %call.id, lead_id = %call.lead_id, call_sid = call.twilio_sid.as_deref().unwrap_or(""));
            match check(deps, &call, now).instrument(span).await {
                Ok(Checked::Finished) => out.finished += 1,
                Ok(Checked::Requeued) => out.requeued += 1,
                Ok(Checked::Active) => {
                    out.still_active += 1;
                    repo::inflight::check_again_at(deps.store.as_ref(), &marker.key, now + opts.stale_after).await?;
                }
                Err(e) => {
                    tracing::warn!(call_id = %call.id, error = %e, "could not reconcile call");
                    out.errors += 1;
                }
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The last time we heard anything about the call.
fn last_word(call: &Call) -> DateTime<Utc> {
    [call.initiated_at, call.ringing_at, call.answered_at, call.bridged_at, call.connected_at]
        .into_iter()
        .flatten()
        .fold(call.created_at, DateTime::max)
}

enum Checked {
    Finished,
    Requeued,
    Active,
}

/// How far before our record of a call Twilio's own creation time may be
/// (clocks differ) and still be taken for it.
const CLOCK_SKEW: Duration = Duration::seconds(5);

async fn check(deps: &Deps, call: &Call, now: DateTime<Utc>) -> Result<Checked, DialingError> {
    let remote = match &call.twilio_sid {
        // No SID recorded does not mean never placed (the create's answer
        // may have been lost): ask Twilio for calls to the number since.
        None => find_placed(deps, call).await?,
        Some(sid) => match deps.telephony.fetch_call(sid).await {
            Ok(r) => Some(r),
            Err(TelephonyError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let Some(remote) = remote else {
        tracing::warn!("Twilio never got the call; requeueing its lead");
        let outcome = close(deps, &call.id, CallEnd::status(CallStatus::Failed), LeadPlan::Requeue { at: now }).await?;
        return Ok(if matches!(outcome, FinishOutcome::Finished { .. }) {
            Checked::Requeued
        } else {
            Checked::Finished
        });
    };
    let Some(end) = end_from_remote(call, &remote) else {
        return Ok(Checked::Active);
    };
    tracing::warn!(twilio_status = %remote.status, "finishing a call whose final callback never came");
    close(deps, &call.id, end, LeadPlan::Policy).await?;
    Ok(Checked::Finished)
}

/// The call Twilio placed for `call` when we never learnt its SID: the
/// newest call to the lead's number created since the attempt (its SID is
/// then recorded). None when Twilio has none: it was never placed.
async fn find_placed(deps: &Deps, call: &Call) -> Result<Option<RemoteCall>, DialingError> {
    let Some(lead) = repo::leads::get(deps.store.as_ref(), &call.lead_id).await? else {
        return Ok(None);
    };
    let since = call.created_at - CLOCK_SKEW;
    let listed = deps.telephony.list_calls_to(lead.phone.as_str(), since).await?;
    let Some(found) = listed.into_iter().next() else {
        return Ok(None);
    };
    tracing::warn!(sid = %found.sid, status = %found.status, "Twilio had the call after all; SID recorded");
    super::dialer::adopt_sid(deps, &call.id, &found.sid).await?;
    Ok(Some(found))
}

/// The end a Twilio status stands for, or None while Twilio is still busy
/// with the call.
fn end_from_remote(call: &Call, remote: &RemoteCall) -> Option<CallEnd> {
    let answered_by = remote.answered_by.as_deref().map(AnsweredBy::from_twilio);
    let status = match remote.status.as_str() {
        "busy" => CallStatus::Busy,
        "no-answer" => CallStatus::NoAnswer,
        "failed" => CallStatus::Failed,
        "canceled" => CallStatus::Canceled,
        "completed" => match (answered_by, call.status) {
            (Some(AnsweredBy::Machine | AnsweredBy::Fax), s) if s != CallStatus::Bridged => CallStatus::Machine,
            // Connected only when the room join was seen; otherwise the
            // person never reached anyone.
            (_, CallStatus::Bridged) if call.connected_at.is_some() => CallStatus::Completed,
            (_, CallStatus::Bridged) => CallStatus::Abandoned,
            (_, CallStatus::Answered) => CallStatus::Abandoned,
            // Answered, but we never saw the voice webhook: nobody talked to
            // the lead, so it is retried.
            _ => CallStatus::Failed,
        },
        _ => return None,
    };
    let connected = status == CallStatus::Completed;
    Some(CallEnd {
        answered_by,
        talk_secs: if connected { remote.duration_secs } else { None },
        duration_secs: remote.duration_secs,
        ..CallEnd::status(status)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibrat_domain::{CallId, LeadId};

    fn call(status: CallStatus) -> Call {
        Call {
            twilio_sid: Some("CA1".into()),
            status,
            ..Call::new(CallId::new(), LeadId::parse("ld_0123456789abcdef01234567").unwrap(), 1, Utc::now())
        }
    }

    fn remote(status: &str, answered_by: Option<&str>) -> RemoteCall {
        RemoteCall {
            sid: "CA1".into(),
            status: status.into(),
            answered_by: answered_by.map(str::to_owned),
            duration_secs: Some(42),
            to: None,
            created_at: None,
        }
    }

    #[test]
    fn twilio_statuses_map_to_ends() {
        let ringing = call(CallStatus::Ringing);
        assert_eq!(end_from_remote(&ringing, &remote("no-answer", None)).unwrap().status, CallStatus::NoAnswer);
        assert_eq!(end_from_remote(&ringing, &remote("busy", None)).unwrap().status, CallStatus::Busy);
        assert!(end_from_remote(&ringing, &remote("in-progress", None)).is_none());
        assert!(end_from_remote(&ringing, &remote("queued", None)).is_none());
        let m = end_from_remote(&ringing, &remote("completed", Some("machine_start"))).unwrap();
        assert_eq!(m.status, CallStatus::Machine);
        assert_eq!(end_from_remote(&ringing, &remote("completed", Some("human"))).unwrap().status, CallStatus::Failed);
        // Routed but never seen joining the room: nobody talked.
        let routed = end_from_remote(&call(CallStatus::Bridged), &remote("completed", Some("human"))).unwrap();
        assert_eq!((routed.status, routed.talk_secs), (CallStatus::Abandoned, None));
        let mut joined = call(CallStatus::Bridged);
        joined.connected_at = Some(Utc::now());
        let joined = end_from_remote(&joined, &remote("completed", Some("human"))).unwrap();
        assert_eq!((joined.status, joined.talk_secs), (CallStatus::Completed, Some(42)));
        let answered = call(CallStatus::Answered);
        assert_eq!(end_from_remote(&answered, &remote("completed", None)).unwrap().status, CallStatus::Abandoned);
    }
}
