//! Routing an answered call to a salesperson: the longest-idle available
//! one (gsi3 `AVAILABLE`, ascending) whose line is up, claimed in one
//! transaction that holds only while they are still available since the
//! instant read and their session's line is up, so two answers racing for
//! one salesperson can never both win, and nobody without an open line is
//! ever given a call.

use ibrat_domain::session::room_name;
use ibrat_domain::{Availability, Call, CallStatus, EventKind, Lead, UserId};

use super::error::CallflowError;
use crate::context::Deps;
use crate::repo::calls::{CallChanges, CallRecord};
use crate::repo::tx::Transaction;
use crate::repo::{self, users::UserRecord};

/// Put the lead's leg in this salesperson's room: the TwiML `<Dial><Conference>`
/// the HTTP layer answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomJoin {
    pub salesperson_id: UserId,
    /// The room (`agent-<user_id>`).
    pub room: String,
}

impl RoomJoin {
    pub(crate) fn new(salesperson: &UserId) -> Self {
        RoomJoin { salesperson_id: salesperson.clone(), room: room_name(salesperson) }
    }
}

/// What a claim did.
#[derive(Debug)]
pub(crate) enum Claim {
    /// The salesperson is now `on_call` with this call, and the call is
    /// bridged to them; the record is the call as written.
    Claimed { user: Box<UserRecord>, record: Box<CallRecord> },
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

/// Claims the longest-idle ready salesperson for the call in `record` (read
/// at its current version; it must be answered). Bounded: a few queries and
/// transactions, never a wait.
pub(crate) async fn claim(deps: &Deps, record: &CallRecord) -> Result<Claim, CallflowError> {
    let mut tried: Vec<UserId> = Vec::new();
    for _ in 0..QUERIES {
        let candidates = repo::users::available(deps.store.as_ref(), PAGE).await?;
        let fresh: Vec<UserRecord> = candidates.into_iter().filter(|c| !tried.contains(&c.user.id)).collect();
        if fresh.is_empty() {
            return Ok(Claim::NobodyFree);
        }
        let mut lost_race = false;
        for candidate in fresh {
            tried.push(candidate.user.id.clone());
            match try_claim(deps, record, &candidate).await? {
                Attempt::Won(record) => return Ok(Claim::Claimed { user: Box::new(candidate), record }),
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
async fn try_claim(deps: &Deps, record: &CallRecord, candidate: &UserRecord) -> Result<Attempt, CallflowError> {
    let user_id = &candidate.user.id;
    for _ in 0..=CONFLICT_RETRIES {
        let now = deps.clock.now();
        let mut call = record.call.clone();
        let attempt = record.bridge_attempts + 1;
        let mut tx = Transaction::new();
        let call_op = tx.push(repo::calls::update_op(&mut call, CallChanges::new().bridged_to(user_id, attempt, now)));
        tx.push(repo::users::claim_for_call_op(user_id, &call.id, candidate.user.availability_since, now));
        tx.push(repo::calls::agent_claim_op(&call, user_id, now));
        tx.push(repo::sessions::line_is_up(user_id));
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

/// Tells the salesperson who is coming (the screen pop, before the lead's
/// audio reaches their room), then everyone that the call is routed.
pub(crate) async fn announce(deps: &Deps, record: &CallRecord, user: &UserRecord, lead: Option<&Lead>) {
    let call = &record.call;
    let last_disposition = last_disposition(deps, call).await;
    let (lead_name, lead_phone, notes, attempts, custom_fields) = match lead {
        Some(l) => (l.name.clone(), l.phone.as_str().to_owned(), l.notes.clone(), l.attempts, l.custom.clone()),
        None => (String::new(), String::new(), String::new(), call.attempt, Default::default()),
    };
    deps.emit(EventKind::CallIncoming {
        call_id: call.id.clone(),
        lead_id: call.lead_id.clone(),
        salesperson_id: user.user.id.clone(),
        lead_name,
        lead_phone,
        notes,
        attempts,
        custom_fields,
        last_disposition,
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

/// Calls of a lead looked at for its last disposition.
const HISTORY: usize = 10;

/// The outcome of the lead's most recent recorded disposition (on an
/// earlier call), for the screen pop. Best effort: a failed read leaves it
/// out rather than delaying the call.
async fn last_disposition(deps: &Deps, call: &Call) -> Option<String> {
    match repo::calls::for_lead(deps.store.as_ref(), &call.lead_id, HISTORY).await {
        Ok(calls) => {
            calls.iter().filter(|c| c.id != call.id).find_map(|c| c.disposition.as_ref()).map(|d| d.as_str().to_owned())
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the lead's last disposition");
            None
        }
    }
}
