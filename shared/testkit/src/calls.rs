//! Calls in each state, for tests that read or list them (tests of the call
//! flow place their calls through the real dialer instead).

use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{Call, CallId, CallOutcome, CallStatus, Lead, UserId};
use ibrat_ports::{Store, WriteOp};
use ibrat_services::repo;

use crate::time::ms;

/// Builds a [`Call`].
#[derive(Debug, Clone)]
pub struct CallBuilder(Call);

/// A call of `lead` in `status`, created at `at`, with the timestamps and
/// outcome that status implies (a bridged or completed call rang 5 s; a
/// completed one talked 120 s and is connected, joined at `at`; an abandoned
/// one heard the safe-harbor message at `at`).
pub fn call(lead: &Lead, status: CallStatus, at: DateTime<Utc>) -> CallBuilder {
    let at = ms(at);
    let reached = |s: CallStatus| status_rank(status) >= status_rank(s);
    let ended = status.is_terminal();
    let talked = matches!(status, CallStatus::Completed);
    let answered = reached(CallStatus::Answered) && !matches!(status, CallStatus::NoAnswer | CallStatus::Busy);
    let outcome = match status {
        CallStatus::Completed => Some(CallOutcome::Connected),
        CallStatus::NoAnswer => Some(CallOutcome::NoAnswer),
        CallStatus::Busy => Some(CallOutcome::Busy),
        CallStatus::Failed => Some(CallOutcome::Failed),
        CallStatus::Canceled => Some(CallOutcome::Canceled),
        CallStatus::Machine => Some(CallOutcome::Machine),
        CallStatus::Abandoned => Some(CallOutcome::Abandoned),
        _ => None,
    };
    CallBuilder(Call {
        id: CallId::new(),
        lead_id: lead.id.clone(),
        salesperson_id: None,
        twilio_sid: (status != CallStatus::Created).then(|| format!("CA{}", "1".repeat(32))),
        status,
        answered_by: None,
        ring_secs: answered.then_some(5),
        talk_secs: talked.then_some(120),
        outcome,
        disposition: None,
        notes: None,
        recording_url: None,
        attempt: 1,
        created_at: at,
        initiated_at: reached(CallStatus::Initiated).then_some(at),
        ringing_at: reached(CallStatus::Ringing).then_some(at),
        answered_at: answered.then_some(at),
        bridged_at: (talked || status == CallStatus::Bridged).then_some(at),
        connected_at: talked.then_some(at),
        safe_harbor_at: (status == CallStatus::Abandoned).then_some(at),
        ended_at: ended.then(|| if talked { at + Duration::seconds(120) } else { at }),
        placement_unknown_at: None,
        dispositions: Vec::new(),
        last_sequence: None,
        version: 1,
    })
}

/// How far along the happy path a status is (terminal ones count as past
/// ringing; completed as past bridging).
fn status_rank(s: CallStatus) -> u8 {
    match s {
        CallStatus::Created => 0,
        CallStatus::Initiated => 1,
        CallStatus::Ringing | CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Failed | CallStatus::Canceled => 2,
        CallStatus::Answered | CallStatus::Machine | CallStatus::Abandoned => 3,
        CallStatus::Bridged | CallStatus::Completed => 4,
    }
}

impl CallBuilder {
    /// Taken by `salesperson`.
    pub fn salesperson(mut self, salesperson: &UserId) -> Self {
        self.0.salesperson_id = Some(salesperson.clone());
        self
    }

    pub fn sid(mut self, sid: &str) -> Self {
        self.0.twilio_sid = Some(sid.to_owned());
        self
    }

    pub fn attempt(mut self, attempt: u32) -> Self {
        self.0.attempt = attempt;
        self
    }

    pub fn build(self) -> Call {
        self.0
    }

    /// Stores the call (and its salesperson's link, when it has one).
    pub async fn store(self, store: &dyn Store) -> Call {
        let mut ops: Vec<WriteOp> = vec![repo::calls::create_op(&self.0)];
        if let Some(sp) = &self.0.salesperson_id {
            ops.push(repo::calls::agent_link_op(&self.0, sp));
        }
        store.transact_write(ops).await.expect("the test call is stored");
        self.0
    }
}
