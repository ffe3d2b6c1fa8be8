//! The dialer step: claim a lead atomically, take a call-rate slot, and
//! place the call with Twilio.
//!
//! The claim is one transaction (lead version + status + due, call created,
//! pacing `in_flight < cap`, day's `calls` counter, `DNC#<phone>` absent), so
//! a duplicated message, a retried Lambda or two racing dialers can never
//! produce two calls for one lead, nor more calls in flight than allowed.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ibrat_domain::timezone::parse_zone;
use ibrat_domain::{Call, CallId, CallStatus, EventKind, LeadId, LeadStatus};
use ibrat_ports::{AmdMode, CreateCall, MachineDetection, TelephonyError};
use tracing::Instrument;

use super::common::{defer_to_window, hold_for_zone};
use super::error::DialingError;
use super::finish::{close, CallEnd, FinishOutcome, LeadPlan};
use crate::context::Deps;
use crate::repo;
use crate::repo::calls::CallChanges;
use crate::repo::tx::{failed_positions, Transaction};

/// What the dialer step did with a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialOutcome {
    /// Twilio accepted the call.
    Placed { call_id: CallId, sid: String },
    /// No such lead.
    NotFound,
    /// The lead is not due yet (automatic dials only).
    NotDue { due: Option<DateTime<Utc>> },
    /// The lead is not waiting in the queue any more (another dialer claimed
    /// it, or it was finished): a duplicate message.
    AlreadyClaimed { status: LeadStatus },
    /// The lead's calling window is closed; it opens at `next` (automatic
    /// dials move the lead there).
    OutsideWindow { next: DateTime<Utc> },
    /// The lead's time zone is unknown; it was put on hold.
    ZoneUnknown,
    /// The number is on the do-not-call list; the lead is now do_not_call.
    DoNotCall,
    /// The in-flight cap is reached; the scheduler will pick the lead again.
    NoCapacity,
    /// Dialing is paused (credentials refused earlier).
    Paused,
    /// Twilio refused the number; the lead is now invalid.
    InvalidNumber { call_id: CallId, code: u32 },
    /// Twilio refused the call for another reason; it ended as failed and
    /// the retry policy applies.
    Rejected { call_id: CallId, code: u32 },
    /// The call could not be placed now (Twilio unavailable or rate limited
    /// after retries, or no call-rate slot soon enough); the claim was given
    /// back and the lead returns to the queue shortly.
    Requeued { call_id: CallId, reason: String },
    /// Twilio refused our credentials: the claim was given back, dialing is
    /// paused and an alert raised.
    AuthRefused { call_id: CallId },
    /// Recovery closed the call while this dialer waited; nothing placed.
    Superseded { call_id: CallId },
    /// Twilio may or may not have placed the call (a timeout, a lost
    /// connection, an unreadable answer). It is never resent: the call is
    /// marked unknown and the lead stays claimed until a callback or
    /// recovery (asking Twilio) settles it.
    Unknown { call_id: CallId, reason: String },
}

/// Tunables of the dialer step (defaults suit production; tests shorten
/// them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialOptions {
    /// Tries of `create_call` when Twilio is rate limiting or unavailable.
    pub telephony_attempts: u32,
    /// First backoff between those tries; doubles each time.
    pub backoff: StdDuration,
    /// Longest backoff (also caps Twilio's `Retry-After`).
    pub max_backoff: StdDuration,
    /// How far ahead a call-rate slot may be taken; beyond it the claim is
    /// given back rather than holding a dialer (and a Lambda) waiting. Well
    /// under the dialer Lambda's timeout, and far under recovery's stale
    /// threshold, so recovery never requeues a call a dialer still holds.
    pub max_slot_wait_secs: i64,
    /// How long a lead given back waits before it is due again.
    pub requeue_delay: Duration,
    /// When placing must be over (the caller's time budget; None: no
    /// bound). Slot waits and backoffs that would leave less than
    /// `request_budget` before it give the claim back instead; a Twilio
    /// request still unanswered at the deadline is abandoned as
    /// [`DialOutcome::Unknown`] and never resent.
    pub deadline: Option<DateTime<Utc>>,
    /// Time kept for one Twilio request (the client's own timeout).
    pub request_budget: StdDuration,
}

impl Default for DialOptions {
    fn default() -> Self {
        DialOptions {
            telephony_attempts: 3,
            backoff: StdDuration::from_millis(500),
            max_backoff: StdDuration::from_secs(8),
            max_slot_wait_secs: 30,
            requeue_delay: Duration::seconds(60),
            deadline: None,
            request_budget: StdDuration::from_secs(10),
        }
    }
}

impl DialOptions {
    /// Time left before the deadline once a Twilio request is set aside
    /// (negative when there is not even that); None without a deadline.
    fn spare(&self, now: DateTime<Utc>) -> Option<Duration> {
        let deadline = self.deadline?;
        let budget = Duration::from_std(self.request_budget).unwrap_or(Duration::MAX);
        // Overflow only ever means "far past it".
        Some((deadline - now).checked_sub(&budget).unwrap_or(Duration::seconds(-1)))
    }

    /// True when the caller's deadline leaves no room for a Twilio request
    /// now (callers then retry the message later, before claiming).
    pub fn out_of_time(&self, now: DateTime<Utc>) -> bool {
        self.spare(now).is_some_and(|spare| spare < Duration::zero())
    }
}

/// Dials one lead with the default options; see [`dial_with`].
pub async fn dial(deps: &Deps, lead_id: &LeadId, manual: bool) -> Result<DialOutcome, DialingError> {
    dial_with(deps, lead_id, manual, &DialOptions::default()).await
}

/// How many times the claim is retried after losing a race on the lead item
/// to a write that was not a claim (an edit of its notes, say).
const CLAIM_ATTEMPTS: usize = 3;

/// Dials one lead: claims it (only one claimant ever wins), waits for a
/// call-rate slot and places the call. `manual` dials (an admin's request)
/// skip the due check and use the global `max_in_flight` cap instead of the
/// pacing capacity; the calling window and do-not-call rules still apply.
pub async fn dial_with(
    deps: &Deps,
    lead_id: &LeadId,
    manual: bool,
    opts: &DialOptions,
) -> Result<DialOutcome, DialingError> {
    let span = tracing::info_span!("dial", lead_id = %lead_id, manual, call_id = tracing::field::Empty, call_sid = tracing::field::Empty);
    async {
        let mut claimed = None;
        for _ in 0..CLAIM_ATTEMPTS {
            match claim(deps, lead_id, manual).await? {
                Claim::Won(call) => {
                    claimed = Some(call);
                    break;
                }
                Claim::Lost => continue,
                Claim::Refused(outcome) => {
                    tracing::info!(?outcome, "not dialed");
                    return Ok(outcome);
                }
            }
        }
        let Some(call) = claimed else {
            return Err(DialingError::Contention(format!("claiming lead {lead_id} kept losing races")));
        };
        tracing::Span::current().record("call_id", tracing::field::display(&call.id));
        place(deps, *call, opts).await
    }
    .instrument(span)
    .await
}

enum Claim {
    Won(Box<Call>),
    /// The lead changed between read and write; read again.
    Lost,
    Refused(DialOutcome),
}

async fn claim(deps: &Deps, lead_id: &LeadId, manual: bool) -> Result<Claim, DialingError> {
    let store = deps.store.as_ref();
    let Some(lead) = repo::leads::get(store, lead_id).await? else {
        return Ok(Claim::Refused(DialOutcome::NotFound));
    };
    if !lead.status.is_dialable() {
        return Ok(Claim::Refused(DialOutcome::AlreadyClaimed { status: lead.status }));
    }
    let now = deps.clock.now();
    if !manual && lead.next_attempt_at.is_none_or(|due| due > now) {
        return Ok(Claim::Refused(DialOutcome::NotDue { due: lead.next_attempt_at }));
    }
    let settings = repo::settings::get(store).await?;
    let Some(tz) = lead.timezone.as_deref().and_then(parse_zone) else {
        hold_for_zone(deps, &lead, now).await?;
        return Ok(Claim::Refused(DialOutcome::ZoneUnknown));
    };
    if !settings.calling_window.is_open(now, tz) {
        let next = settings.calling_window.next_open(now, tz);
        if !manual {
            defer_to_window(deps, &lead, next, now).await?;
        }
        return Ok(Claim::Refused(DialOutcome::OutsideWindow { next }));
    }
    let pacing = repo::pacing::get(store).await?;
    if pacing.paused {
        return Ok(Claim::Refused(DialOutcome::Paused));
    }
    let (cap, expected_cap) = if manual {
        (settings.pacing.max_in_flight, None)
    } else {
        let cap = pacing.cap.unwrap_or(0).min(settings.pacing.max_in_flight);
        (cap, pacing.cap)
    };
    if cap == 0 || pacing.in_flight >= cap as i64 {
        return Ok(Claim::Refused(DialOutcome::NoCapacity));
    }

    let call = Call::new(CallId::new(), lead.id.clone(), lead.attempts + 1, now);
    let mut claimed = lead.clone();
    claimed.status = LeadStatus::Dialing;
    claimed.attempts += 1;
    claimed.last_call_id = Some(call.id.clone());
    claimed.hold_reason = None;
    claimed.updated_at = now;
    let mut tx = Transaction::new();
    let lead_op = tx.push(repo::leads::save_op(&mut claimed));
    tx.push(repo::calls::create_op(&call));
    let pacing_op = tx.push(repo::pacing::claim_op(cap, expected_cap));
    tx.push(repo::stats::call_placed_op(now));
    let dnc_op = tx.push(repo::dnc::not_listed_check(&lead.phone));
    tx.push(repo::inflight::put_op(&call));
    match tx.commit(store).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failed() => {
            if lead_op.failed_in(&e) {
                return Ok(Claim::Lost);
            }
            if dnc_op.failed_in(&e) {
                let mut blocked = lead.clone();
                blocked.status = LeadStatus::DoNotCall;
                blocked.updated_at = now;
                if repo::leads::save(store, &mut blocked).await? {
                    deps.emit(EventKind::lead_updated(&blocked)).await;
                }
                return Ok(Claim::Refused(DialOutcome::DoNotCall));
            }
            if pacing_op.failed_in(&e) {
                let state = repo::pacing::get(store).await?;
                let outcome = if state.paused { DialOutcome::Paused } else { DialOutcome::NoCapacity };
                return Ok(Claim::Refused(outcome));
            }
            return Err(DialingError::Invalid(format!("claim refused by operations {:?}", failed_positions(&e))));
        }
        Err(e) if e.is_retryable() => return Ok(Claim::Lost),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(call_id = %call.id, attempt = call.attempt, "lead claimed");
    deps.emit(EventKind::CallCreated { call_id: call.id.clone(), lead_id: lead.id.clone(), attempt: call.attempt })
        .await;
    deps.emit(EventKind::lead_updated(&claimed)).await;
    Ok(Claim::Won(Box::new(call)))
}

/// Takes the earliest call-rate slot at or after now and returns when it
/// begins; None when none is free within `max_wait_secs`.
async fn reserve_slot(deps: &Deps, cps: u32, max_wait_secs: i64) -> Result<Option<DateTime<Utc>>, DialingError> {
    let first = deps.clock.now().timestamp();
    for second in first..=first + max_wait_secs.max(0) {
        if repo::rate::try_take(deps.store.as_ref(), second, cps).await? {
            return Ok(Utc.timestamp_opt(second, 0).single());
        }
    }
    Ok(None)
}

/// Sleeps until `at` by the deps' clock (no-op when it has begun).
async fn sleep_until(deps: &Deps, at: DateTime<Utc>) {
    if let Ok(wait) = (at - deps.clock.now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

/// Takes a slot, waits for it, and places the claimed call, handling every
/// Twilio refusal so the claim never stays stuck.
async fn place(deps: &Deps, call: Call, opts: &DialOptions) -> Result<DialOutcome, DialingError> {
    let store = deps.store.as_ref();
    let settings = repo::settings::get(store).await?;
    let Some(lead) = repo::leads::get(store, &call.lead_id).await? else {
        return Err(DialingError::Invalid(format!("claimed lead {} vanished", call.lead_id)));
    };
    let base = deps.config.public_url.trim_end_matches('/');
    let req = CreateCall {
        to: lead.phone.as_str().to_owned(),
        from: settings
            .caller_id
            .as_ref()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| deps.config.twilio_from.clone()),
        url: format!("{base}/twilio/voice?call_id={}", call.id),
        status_callback: format!("{base}/twilio/status?call_id={}", call.id),
        timeout_secs: settings.ring_timeout(),
        machine_detection: settings.machine_detection.then_some(MachineDetection {
            // Synchronous, waiting for a machine's greeting to end: a person
            // is classed as soon as they stop speaking (the voice request
            // comes then), a machine only at its beep, when a voicemail drop
            // must start. See docs/DESIGN.md, "Answering machines".
            mode: AmdMode::DetectMessageEnd,
            async_callback: None,
        }),
    };
    let mut backoff = opts.backoff;
    let mut attempt = 1;
    loop {
        let mut max_wait = opts.max_slot_wait_secs;
        if let Some(spare) = opts.spare(deps.clock.now()) {
            if spare < Duration::zero() {
                return requeue(deps, &call, opts, "the dialer's time budget ran out before a call-rate slot").await;
            }
            max_wait = max_wait.min(spare.num_seconds());
        }
        let Some(slot) = reserve_slot(deps, settings.pacing.calls_per_second, max_wait).await? else {
            return requeue(deps, &call, opts, "no call-rate slot free soon enough").await;
        };
        sleep_until(deps, slot).await;
        // Recovery may have closed the call while we waited.
        match repo::calls::get(store, &call.id).await? {
            Some(c) if c.status == CallStatus::Created && c.twilio_sid.is_none() => {}
            _ => return Ok(DialOutcome::Superseded { call_id: call.id }),
        }
        let answer = match opts.deadline.map(|d| (d - deps.clock.now()).to_std().unwrap_or_default()) {
            None => deps.telephony.create_call(&req).await,
            Some(left) => match tokio::time::timeout(left, deps.telephony.create_call(&req)).await {
                Ok(answer) => answer,
                // Sent and unanswered: Twilio may have the call, so it is
                // treated as ambiguous (below), never resent.
                Err(_) => {
                    Err(TelephonyError::Ambiguous("the dialer's time budget ran out while Twilio was answering".into()))
                }
            },
        };
        match answer {
            Ok(placed) => {
                tracing::Span::current().record("call_sid", placed.sid.as_str());
                store_sid(deps, &call.id, &placed.sid).await?;
                tracing::info!(sid = %placed.sid, "call placed");
                return Ok(DialOutcome::Placed { call_id: call.id, sid: placed.sid });
            }
            Err(e) if e.is_retryable() && attempt < opts.telephony_attempts => {
                let mut wait = backoff;
                if let TelephonyError::RateLimited { retry_after_secs: Some(s) } = &e {
                    wait = wait.max(StdDuration::from_secs(*s));
                }
                let wait = wait.min(opts.max_backoff);
                let after = Duration::from_std(wait).ok().and_then(|w| deps.clock.now().checked_add_signed(w));
                if after.is_none_or(|after| opts.out_of_time(after)) {
                    let reason = format!("{e}; no time left in the dialer's budget for another try");
                    return requeue(deps, &call, opts, &reason).await;
                }
                tracing::warn!(error = %e, attempt, ?wait, "telephony refused for now; backing off");
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(opts.max_backoff);
                attempt += 1;
            }
            Err(e) if e.is_retryable() => {
                return requeue(deps, &call, opts, &e.to_string()).await;
            }
            Err(TelephonyError::Ambiguous(reason)) => {
                tracing::warn!(reason, "placing the call: outcome unknown; never resent, left for recovery");
                mark_unknown(deps, &call.id).await?;
                return Ok(DialOutcome::Unknown { call_id: call.id, reason });
            }
            Err(TelephonyError::InvalidNumber { code, message }) => {
                tracing::info!(code, message, "number refused; lead becomes invalid");
                let end = CallEnd { invalid_number: true, ..CallEnd::status(CallStatus::Failed) };
                close(deps, &call.id, end, LeadPlan::Policy).await?;
                return Ok(DialOutcome::InvalidNumber { call_id: call.id, code });
            }
            Err(TelephonyError::Auth(message)) => {
                tracing::error!(message, "telephony credentials refused; pausing dialing");
                close(deps, &call.id, CallEnd::status(CallStatus::Failed), LeadPlan::Requeue { at: deps.clock.now() })
                    .await?;
                let reason = format!("Twilio refused our credentials: {message}");
                super::pause::pause(deps, &reason).await?;
                deps.emit(EventKind::Alert { code: "twilio_auth".into(), message: reason }).await;
                return Ok(DialOutcome::AuthRefused { call_id: call.id });
            }
            Err(e) => {
                let code = match &e {
                    TelephonyError::Rejected { code, .. } => *code,
                    _ => 0,
                };
                tracing::warn!(error = %e, "call refused; ending it as failed");
                close(deps, &call.id, CallEnd::status(CallStatus::Failed), LeadPlan::Policy).await?;
                return Ok(DialOutcome::Rejected { call_id: call.id, code });
            }
        }
    }
}

/// Gives the claim back: the call ends as failed without counting as an
/// attempt, and the lead is due again after `opts.requeue_delay`.
async fn requeue(deps: &Deps, call: &Call, opts: &DialOptions, reason: &str) -> Result<DialOutcome, DialingError> {
    tracing::warn!(reason, "giving the claim back");
    let at = deps.clock.now() + opts.requeue_delay;
    match close(deps, &call.id, CallEnd::status(CallStatus::Failed), LeadPlan::Requeue { at }).await? {
        FinishOutcome::Finished { .. } => Ok(DialOutcome::Requeued { call_id: call.id.clone(), reason: reason.into() }),
        _ => Ok(DialOutcome::Superseded { call_id: call.id.clone() }),
    }
}

/// Marks the call's placement unknown (version-conditioned; a callback that
/// already brought its SID wins and nothing is marked).
async fn mark_unknown(deps: &Deps, call_id: &CallId) -> Result<(), DialingError> {
    for _ in 0..8 {
        let Some(call) = repo::calls::get(deps.store.as_ref(), call_id).await? else {
            return Err(DialingError::Invalid(format!("claimed call {call_id} vanished")));
        };
        if call.twilio_sid.is_some() || call.status.is_terminal() {
            return Ok(());
        }
        let mut call = call;
        let op = repo::calls::update_op(&mut call, CallChanges::new().placement_unknown(deps.clock.now()));
        match deps.store.transact_write(vec![op]).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DialingError::Contention(format!("marking call {call_id} unknown kept losing races")))
}

/// Records a SID learnt later (recovery found the call at Twilio), settling
/// an unknown placement.
pub(crate) async fn adopt_sid(deps: &Deps, call_id: &CallId, sid: &str) -> Result<(), DialingError> {
    store_sid(deps, call_id, sid).await
}

/// Records Twilio's SID on the call with a version-conditioned update
/// (progress callbacks may already have moved the call); an unknown
/// placement is settled with it.
async fn store_sid(deps: &Deps, call_id: &CallId, sid: &str) -> Result<(), DialingError> {
    for _ in 0..8 {
        match repo::calls::store_sid(deps.store.as_ref(), call_id, sid).await? {
            None => return Err(DialingError::Invalid(format!("placed call {call_id} vanished"))),
            Some(true) => return Ok(()),
            Some(false) => continue,
        }
    }
    Err(DialingError::Contention(format!("storing the sid of call {call_id} kept losing races")))
}
