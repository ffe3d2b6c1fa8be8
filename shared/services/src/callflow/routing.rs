//! Routing an answered call to a salesperson: the longest-idle available
//! one (gsi3 `AVAILABLE`, ascending), claimed in one transaction that holds
//! only while they are still available since the instant read, so two
//! answers racing for one salesperson can never both win.

use ibrat_domain::{Availability, CallStatus, EventKind, Lead, Settings, UserId};

use super::error::CallflowError;
use crate::context::Deps;
use crate::repo::calls::{CallChanges, CallRecord};
use crate::repo::tx::Transaction;
use crate::repo::{self, users::UserRecord};

/// Dial this salesperson for the call: the TwiML `<Dial>` the HTTP layer
/// answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub salesperson_id: UserId,
    /// E.164 number to ring.
    pub salesperson_phone: String,
    /// The lead's number, so the salesperson sees who is calling.
    pub caller_id: String,
    /// Seconds to ring the salesperson (`settings.salesperson_ring_secs`).
    pub timeout_secs: u32,
    /// Record the conversation (`settings.record_calls`).
    pub record: bool,
    /// Which salesperson this is for the call (1 for the first); echoed back
    /// in the dial action URL so late results for an earlier one are known.
    pub attempt: u32,
}

impl Bridge {
    pub(crate) fn new(user: &UserRecord, phone: &str, lead_phone: &str, settings: &Settings, attempt: u32) -> Self {
        Bridge {
            salesperson_id: user.user.id.clone(),
            salesperson_phone: phone.to_owned(),
            caller_id: lead_phone.to_owned(),
            timeout_secs: settings.salesperson_ring_secs,
            record: settings.record_calls,
            attempt,
        }
    }
}

/// What a claim did.
#[derive(Debug)]
pub(crate) enum Claim {
    /// The salesperson is now `on_call` with this call, and the call is
    /// bridged to them; the record is the call as written.
    Claimed { user: Box<UserRecord>, phone: String, record: Box<CallRecord> },
    /// Nobody available could be claimed.
    NobodyFree,
    /// The call changed since it was read (re-read and decide again).
    CallChanged,
}

/// Candidates read per query, and queries per claim (a second one only when
/// a race was lost, to pick up whoever else became free).
const PAGE: usize = 10;
const QUERIES: usize = 2;
/// Retries of one candidate after a transaction conflict (not a condition).
const CONFLICT_RETRIES: usize = 2;

/// Claims the longest-idle available salesperson (not in `exclude`) for the
/// call in `record` (read at its current version; it must be answered or
/// bridged). `attempt` becomes the call's bridge counter. Bounded: a few
/// queries and transactions, never a wait.
pub(crate) async fn claim(
    deps: &Deps,
    record: &CallRecord,
    exclude: &[UserId],
    attempt: u32,
) -> Result<Claim, CallflowError> {
    let mut tried: Vec<UserId> = exclude.to_vec();
    for _ in 0..QUERIES {
        let candidates = repo::users::available(deps.store.as_ref(), PAGE).await?;
        let fresh: Vec<UserRecord> = candidates.into_iter().filter(|c| !tried.contains(&c.user.id)).collect();
        if fresh.is_empty() {
            return Ok(Claim::NobodyFree);
        }
        let mut lost_race = false;
        for candidate in fresh {
            tried.push(candidate.user.id.clone());
            let Some(phone) = candidate.user.phone.as_ref().map(|p| p.as_str().to_owned()) else {
                tracing::warn!(user_id = %candidate.user.id, "available salesperson has no phone number; skipped");
                continue;
            };
            match try_claim(deps, record, &candidate, attempt).await? {
                Attempt::Won(record) => return Ok(Claim::Claimed { user: Box::new(candidate), phone, record }),
                Attempt::UserTaken => {
                    tracing::debug!(user_id = %candidate.user.id, "salesperson taken by another call; next");
                    lost_race = true;
                }
                Attempt::CallChanged => return Ok(Claim::CallChanged),
            }
        }
        if !lost_race {
            break;
        }
    }
    Ok(Claim::NobodyFree)
}

enum Attempt {
    Won(Box<CallRecord>),
    UserTaken,
    CallChanged,
}

/// The claim transaction for one candidate.
async fn try_claim(
    deps: &Deps,
    record: &CallRecord,
    candidate: &UserRecord,
    attempt: u32,
) -> Result<Attempt, CallflowError> {
    let user_id = &candidate.user.id;
    for _ in 0..=CONFLICT_RETRIES {
        let now = deps.clock.now();
        let mut call = record.call.clone();
        let mut tx = Transaction::new();
        let call_op = tx.push(repo::calls::update_op(&mut call, CallChanges::new().bridged_to(user_id, attempt, now)));
        tx.push(repo::users::claim_for_call_op(user_id, &call.id, candidate.user.availability_since, now));
        tx.push(repo::calls::agent_claim_op(&call, user_id, now));
        match tx.commit(deps.store.as_ref()).await {
            Ok(()) => {
                call.status = CallStatus::Bridged;
                call.salesperson_id = Some(user_id.clone());
                call.bridged_at = call.bridged_at.or(Some(now));
                return Ok(Attempt::Won(Box::new(CallRecord { call, bridge_attempts: attempt })));
            }
            Err(e) if call_op.failed_in(&e) => return Ok(Attempt::CallChanged),
            Err(e) if e.is_condition_failed() => return Ok(Attempt::UserTaken),
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, "claim transaction conflicted; retrying");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CallflowError::Contention(format!("claiming salesperson {user_id} kept conflicting")))
}

/// Tells the salesperson who is coming (before their phone rings), then
/// everyone that the call is bridged.
pub(crate) async fn announce(deps: &Deps, record: &CallRecord, user: &UserRecord, lead: Option<&Lead>) {
    let call = &record.call;
    let (lead_name, lead_phone, notes, attempts) = match lead {
        Some(l) => (l.name.clone(), l.phone.as_str().to_owned(), l.notes.clone(), l.attempts),
        None => (String::new(), String::new(), String::new(), call.attempt),
    };
    deps.emit(EventKind::CallIncoming {
        call_id: call.id.clone(),
        lead_id: call.lead_id.clone(),
        salesperson_id: user.user.id.clone(),
        lead_name,
        lead_phone,
        notes,
        attempts,
    })
    .await;
    deps.emit(EventKind::UserAvailability { user_id: user.user.id.clone(), availability: Availability::OnCall }).await;
    deps.emit(EventKind::CallBridged {
        call_id: call.id.clone(),
        lead_id: call.lead_id.clone(),
        salesperson_id: user.user.id.clone(),
    })
    .await;
}
