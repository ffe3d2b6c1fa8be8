//! Calls in the table, with their listing (by day) and relation (by lead)
//! index keys, and the link item that lists a salesperson's calls.

use chrono::{DateTime, Utc};
use ibrat_domain::{AnsweredBy, Call, CallId, CallOutcome, CallStatus, Disposition, DispositionRecord, LeadId, UserId};
use ibrat_ports::store::schema::{GSI1, GSI3};
use ibrat_ports::{Condition, Item, Key, Query, Store, StoreError, Update, WriteOp};

use super::codec::{get_ts, opt_parse, req_enum, req_parse, req_ts, ts};
use super::keys;

/// When the lead's leg joined the salesperson's room.
pub const CONNECTED_AT: &str = "connected_at";
/// When the safe-harbor message started.
pub const SAFE_HARBOR_AT: &str = "safe_harbor_at";
/// When placing the call got no readable answer (cleared once resolved).
pub const PLACEMENT_UNKNOWN_AT: &str = "placement_unknown_at";
/// Every disposition recorded on the call (JSON list, oldest first).
pub const DISPOSITIONS: &str = "dispositions";

fn answered_by_parse(s: &str) -> Option<AnsweredBy> {
    match s {
        "human" => Some(AnsweredBy::Human),
        "machine" => Some(AnsweredBy::Machine),
        "fax" => Some(AnsweredBy::Fax),
        "unknown" => Some(AnsweredBy::Unknown),
        _ => None,
    }
}

fn outcome_parse(s: &str) -> Option<CallOutcome> {
    use CallOutcome::*;
    [Connected, NoAnswer, Busy, Failed, Machine, Abandoned, Canceled].into_iter().find(|o| o.as_str() == s)
}

/// Builds the full call item.
pub fn to_item(call: &Call) -> Item {
    Item::with_key(&keys::call(&call.id))
        .with("id", call.id.as_str())
        .with("lead_id", call.lead_id.as_str())
        .with_opt("salesperson_id", call.salesperson_id.as_ref().map(|u| u.as_str()))
        .with_opt("twilio_sid", call.twilio_sid.as_deref())
        .with("status", call.status.as_str())
        .with_opt("answered_by", call.answered_by.map(|a| a.as_str()))
        .with_opt("ring_secs", call.ring_secs)
        .with_opt("talk_secs", call.talk_secs)
        .with_opt("outcome", call.outcome.map(|o| o.as_str()))
        .with_opt(
            "disposition",
            call.disposition.as_ref().map(|d| serde_json::to_string(d).expect("dispositions serialise")),
        )
        .with_opt("notes", call.notes.as_deref())
        .with_opt("recording_url", call.recording_url.as_deref())
        .with("attempt", call.attempt)
        .with("created_at", ts(call.created_at))
        .with_opt("initiated_at", call.initiated_at.map(ts))
        .with_opt("ringing_at", call.ringing_at.map(ts))
        .with_opt("answered_at", call.answered_at.map(ts))
        .with_opt("bridged_at", call.bridged_at.map(ts))
        .with_opt(CONNECTED_AT, call.connected_at.map(ts))
        .with_opt(SAFE_HARBOR_AT, call.safe_harbor_at.map(ts))
        .with_opt("ended_at", call.ended_at.map(ts))
        .with_opt(PLACEMENT_UNKNOWN_AT, call.placement_unknown_at.map(ts))
        .with_opt(
            DISPOSITIONS,
            (!call.dispositions.is_empty())
                .then(|| serde_json::to_string(&call.dispositions).expect("dispositions serialise")),
        )
        .with_opt("last_sequence", call.last_sequence)
        .with("version", call.version)
        .with(GSI1.pk, keys::calls_by_day_pk(&keys::day(call.created_at)))
        .with(GSI1.sk, keys::created_sk(call.created_at, call.id.as_str()))
        .with(GSI3.pk, keys::lead_calls_pk(&call.lead_id))
        .with(GSI3.sk, keys::created_sk(call.created_at, call.id.as_str()))
}

/// Reads a call item.
pub fn from_item(item: &Item) -> Result<Call, StoreError> {
    let disposition = match item.s("disposition") {
        None => None,
        Some(raw) => Some(
            serde_json::from_str::<Disposition>(raw)
                .map_err(|e| StoreError::Corrupt(format!("call disposition: {e}")))?,
        ),
    };
    let outcome = match item.s("outcome") {
        None => None,
        Some(_) => Some(req_enum(item, "outcome", outcome_parse)?),
    };
    let answered_by = match item.s("answered_by") {
        None => None,
        Some(_) => Some(req_enum(item, "answered_by", answered_by_parse)?),
    };
    let secs = |name: &str| item.n(name).map(|n| n.clamp(0, u32::MAX as i64) as u32);
    let dispositions = match item.s(DISPOSITIONS) {
        None => Vec::new(),
        Some(raw) => serde_json::from_str::<Vec<DispositionRecord>>(raw)
            .map_err(|e| StoreError::Corrupt(format!("call dispositions: {e}")))?,
    };
    Ok(Call {
        id: req_parse(item, "id", CallId::parse)?,
        lead_id: req_parse(item, "lead_id", LeadId::parse)?,
        salesperson_id: opt_parse(item, "salesperson_id", UserId::parse)?,
        twilio_sid: item.s("twilio_sid").map(str::to_owned),
        status: req_enum(item, "status", CallStatus::parse)?,
        answered_by,
        ring_secs: secs("ring_secs"),
        talk_secs: secs("talk_secs"),
        outcome,
        disposition,
        notes: item.s("notes").map(str::to_owned),
        recording_url: item.s("recording_url").map(str::to_owned),
        attempt: secs("attempt").unwrap_or(1),
        created_at: req_ts(item, "created_at")?,
        initiated_at: get_ts(item, "initiated_at"),
        ringing_at: get_ts(item, "ringing_at"),
        answered_at: get_ts(item, "answered_at"),
        bridged_at: get_ts(item, "bridged_at"),
        connected_at: get_ts(item, CONNECTED_AT),
        safe_harbor_at: get_ts(item, SAFE_HARBOR_AT),
        ended_at: get_ts(item, "ended_at"),
        placement_unknown_at: get_ts(item, PLACEMENT_UNKNOWN_AT),
        dispositions,
        last_sequence: secs("last_sequence"),
        version: item.n("version").unwrap_or(0).max(0) as u64,
    })
}

/// Reads a call.
pub async fn get(store: &dyn Store, id: &CallId) -> Result<Option<Call>, StoreError> {
    store.get(&keys::call(id)).await?.map(|i| from_item(&i)).transpose()
}

/// The write that creates a call record (ids are fresh, so it must not exist).
pub fn create_op(call: &Call) -> WriteOp {
    WriteOp::Put { item: to_item(call), condition: Some(Condition::not_exists()) }
}

/// Bumps the call's version and returns the write that stores it only if
/// nobody changed it since it was read.
pub fn save_op(call: &mut Call) -> WriteOp {
    let expected = call.version;
    call.version += 1;
    WriteOp::Put { item: to_item(call), condition: Some(Condition::version(expected)) }
}

/// The call attribute counting salespeople tried for this call (absent: one,
/// or none before the first bridge).
const BRIDGE_ATTEMPTS: &str = "bridge_attempts";

/// A call with the attributes the domain type does not carry.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub call: Call,
    /// Salespeople tried so far (0 before the first bridge).
    pub bridge_attempts: u32,
}

/// Reads a call with its bridge counter.
pub async fn get_record(store: &dyn Store, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
    let Some(item) = store.get(&keys::call(id)).await? else {
        return Ok(None);
    };
    let call = from_item(&item)?;
    let stored = item.n(BRIDGE_ATTEMPTS).map(|n| n.clamp(0, u32::MAX as i64) as u32);
    let bridge_attempts = match stored {
        Some(n) => n,
        None if call.salesperson_id.is_some() => 1,
        None => 0,
    };
    Ok(Some(CallRecord { call, bridge_attempts }))
}

/// Changes to a stored call, named for what they mean; [`update_op`] writes
/// them as an update (not a put) so attributes other writers added are kept.
#[derive(Debug, Clone, Default)]
pub struct CallChanges(Update);

impl CallChanges {
    pub fn new() -> Self {
        CallChanges::default()
    }

    pub fn status(self, status: CallStatus) -> Self {
        CallChanges(self.0.set("status", status.as_str()))
    }

    pub fn outcome(self, outcome: CallOutcome) -> Self {
        CallChanges(self.0.set("outcome", outcome.as_str()))
    }

    pub fn answered_by(self, answered_by: AnsweredBy) -> Self {
        CallChanges(self.0.set("answered_by", answered_by.as_str()))
    }

    pub fn ring_secs(self, secs: u32) -> Self {
        CallChanges(self.0.set("ring_secs", secs))
    }

    pub fn talk_secs(self, secs: u32) -> Self {
        CallChanges(self.0.set("talk_secs", secs))
    }

    /// The highest Twilio callback sequence number applied.
    pub fn last_sequence(self, sequence: u32) -> Self {
        CallChanges(self.0.set("last_sequence", sequence))
    }

    pub fn twilio_sid(self, sid: &str) -> Self {
        CallChanges(self.0.set("twilio_sid", sid))
    }

    /// When the call ended.
    pub fn ended_at(self, at: DateTime<Utc>) -> Self {
        CallChanges(self.0.set("ended_at", ts(at)))
    }

    /// When Twilio started the call, unless already recorded.
    pub fn initiated_at_once(self, at: DateTime<Utc>) -> Self {
        CallChanges(self.0.set_if_absent("initiated_at", ts(at)))
    }

    /// When the phone began ringing, unless already recorded.
    pub fn ringing_at_once(self, at: DateTime<Utc>) -> Self {
        CallChanges(self.0.set_if_absent("ringing_at", ts(at)))
    }

    /// When the call was answered, unless already recorded.
    pub fn answered_at_once(self, at: DateTime<Utc>) -> Self {
        CallChanges(self.0.set_if_absent("answered_at", ts(at)))
    }

    /// Connected (the lead's leg joined the salesperson's room) at `at`,
    /// unless already recorded.
    pub fn connected_at_once(self, at: DateTime<Utc>) -> Self {
        CallChanges(self.0.set_if_absent(CONNECTED_AT, ts(at)))
    }

    /// When the safe-harbor message started, unless already recorded.
    pub fn safe_harbor_at_once(self, at: DateTime<Utc>) -> Self {
        CallChanges(self.0.set_if_absent(SAFE_HARBOR_AT, ts(at)))
    }

    /// The Twilio SID learnt from a callback (unless one is recorded), which
    /// also settles an ambiguous placement.
    pub fn placement_resolved(self, sid: &str) -> Self {
        CallChanges(self.0.set_if_absent("twilio_sid", sid).remove(PLACEMENT_UNKNOWN_AT))
    }

    /// Placing the call got no readable answer at `at`.
    pub fn placement_unknown(self, at: DateTime<Utc>) -> Self {
        CallChanges(self.0.set(PLACEMENT_UNKNOWN_AT, ts(at)))
    }

    /// Bridged to `salesperson` at `at` (the first bridge time is kept),
    /// the `attempt`-th salesperson tried.
    pub fn bridged_to(self, salesperson: &UserId, attempt: u32, at: DateTime<Utc>) -> Self {
        CallChanges(
            self.0
                .set("status", CallStatus::Bridged.as_str())
                .set("salesperson_id", salesperson.as_str())
                .set_if_absent("bridged_at", ts(at))
                .set(BRIDGE_ATTEMPTS, attempt),
        )
    }
}

/// The version-conditioned update of a call; bumps `call.version`.
pub fn update_op(call: &mut Call, changes: CallChanges) -> WriteOp {
    let expected = call.version;
    call.version += 1;
    WriteOp::Update {
        key: keys::call(&call.id),
        update: changes.0.set("version", call.version),
        condition: Some(Condition::version(expected)),
    }
}

/// Records Twilio's SID on a call that has none yet (settling an ambiguous
/// placement), under the version
/// read (progress callbacks may already have moved the call). Ok(None):
/// the call does not exist; Ok(Some(false)): a lost race, read again.
pub async fn store_sid(store: &dyn Store, id: &CallId, sid: &str) -> Result<Option<bool>, StoreError> {
    let Some(item) = store.get(&keys::call(id)).await? else {
        return Ok(None);
    };
    if item.s("twilio_sid").is_some() {
        return Ok(Some(true));
    }
    let version = item.n("version").unwrap_or(0).max(0) as u64;
    let update = Update::new().set("twilio_sid", sid).remove(PLACEMENT_UNKNOWN_AT).set("version", version as i64 + 1);
    match store.update(&keys::call(id), update, Some(Condition::version(version))).await {
        Ok(_) => Ok(Some(true)),
        Err(e) if e.is_condition_failed() => Ok(Some(false)),
        Err(e) => Err(e),
    }
}

/// The link item listing a call under its salesperson.
pub fn agent_link_op(call: &Call, salesperson: &UserId) -> WriteOp {
    let item = Item::with_key(&keys::agent_call(salesperson, call.created_at, &call.id))
        .with("call_id", call.id.as_str())
        .with("lead_id", call.lead_id.as_str());
    WriteOp::Put { item, condition: None }
}

/// The call a salesperson's link item points to.
pub fn link_call_key(link: &Item) -> Option<Key> {
    link.s("call_id").and_then(|c| CallId::parse(c).ok()).map(|c| keys::call(&c))
}

/// The lead id a salesperson's link item names.
pub fn link_lead_id(link: &Item) -> Option<&str> {
    link.s("lead_id")
}

/// The link item for a salesperson claimed for the call at `claimed_at`
/// (written in the claim transaction). A claim of the same salesperson again
/// replaces it, so its leg starts afresh (no `released_at`).
pub fn agent_claim_op(call: &Call, salesperson: &UserId, claimed_at: DateTime<Utc>) -> WriteOp {
    let item = Item::with_key(&keys::agent_call(salesperson, call.created_at, &call.id))
        .with("call_id", call.id.as_str())
        .with("lead_id", call.lead_id.as_str())
        .with("claimed_at", ts(claimed_at));
    WriteOp::Put { item, condition: None }
}

/// The update marking the salesperson's leg of the call released at
/// `released_at`; it belongs in the same transaction as the conditional
/// write that releases them. Unconditional, so a link written before
/// `claimed_at` existed never blocks a release.
pub fn agent_release_op(
    call_id: &CallId,
    call_created: DateTime<Utc>,
    salesperson: &UserId,
    released_at: DateTime<Utc>,
) -> WriteOp {
    WriteOp::Update {
        key: keys::agent_call(salesperson, call_created, call_id),
        update: Update::new().set("released_at", ts(released_at)).set_if_absent("call_id", call_id.as_str()),
        condition: None,
    }
}

/// One salesperson's time on one call: from the claim to the release
/// (None while they are still on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub call_id: CallId,
    pub claimed_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

/// A salesperson's legs, oldest call first (base-table query on
/// `AGENTCALL#<user_id>`, every page). Links without `claimed_at` (written
/// before it was recorded, or by imports) are skipped.
pub async fn salesperson_legs(store: &dyn Store, user: &UserId) -> Result<Vec<Leg>, StoreError> {
    let q = Query::partition(keys::agent_calls_pk(user));
    let mut legs = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(&q.clone().after(cursor)).await?;
        for item in &page.items {
            let Some(claimed_at) = get_ts(item, "claimed_at") else {
                continue;
            };
            legs.push(Leg {
                call_id: req_parse(item, "call_id", CallId::parse)?,
                claimed_at,
                released_at: get_ts(item, "released_at"),
            });
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(legs)
}

/// A lead's calls, newest first.
pub async fn for_lead(store: &dyn Store, lead: &LeadId, limit: usize) -> Result<Vec<Call>, StoreError> {
    let page = store.query(&Query::index(GSI3.name, keys::lead_calls_pk(lead)).reverse().limit(limit)).await?;
    page.items.iter().map(from_item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let call = Call {
            id: CallId::new(),
            lead_id: LeadId::parse("ld_0123456789abcdef01234567").unwrap(),
            salesperson_id: Some(UserId::new()),
            twilio_sid: Some("CA0123".into()),
            status: CallStatus::Completed,
            answered_by: Some(AnsweredBy::Human),
            ring_secs: Some(7),
            talk_secs: Some(65),
            outcome: Some(CallOutcome::Connected),
            disposition: Some(Disposition::CallBack { at: now }),
            notes: Some("call after lunch".into()),
            recording_url: None,
            attempt: 2,
            created_at: now,
            initiated_at: Some(now),
            ringing_at: Some(now),
            answered_at: Some(now),
            bridged_at: Some(now),
            connected_at: Some(now),
            safe_harbor_at: None,
            ended_at: Some(now),
            placement_unknown_at: Some(now),
            dispositions: vec![DispositionRecord {
                by: UserId::new(),
                at: now,
                disposition: Disposition::CallBack { at: now },
                notes: Some("call after lunch".into()),
            }],
            last_sequence: Some(3),
            version: 4,
        };
        assert_eq!(from_item(&to_item(&call)).unwrap(), call);
    }
}
