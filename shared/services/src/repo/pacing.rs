//! The `PACING` item: how many calls are in flight, the capacity the last
//! scheduler tick computed, and whether dialing is paused (bad Twilio
//! credentials). `in_flight` changes only inside the transactions that start
//! and finish calls, so it always equals the number of unfinished calls.

use chrono::{DateTime, Utc};
use ibrat_ports::{Condition, Item, Store, StoreError, Update, Value, WriteOp};

use super::codec::{get_ts, ts};
use super::keys;

/// What the `PACING` item says right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacingState {
    /// Calls claimed and not yet finished.
    pub in_flight: i64,
    /// Calls allowed in flight, as computed by the last scheduler tick
    /// (None before the first tick).
    pub cap: Option<u32>,
    /// True once dialing was stopped (credentials refused); ticks and dialers
    /// place nothing until an admin resumes.
    pub paused: bool,
    /// Why dialing is paused.
    pub paused_reason: Option<String>,
    /// When it was paused.
    pub paused_at: Option<DateTime<Utc>>,
}

/// Reads the item as state (an absent item is the zero state).
pub fn from_item(item: Option<&Item>) -> PacingState {
    let Some(item) = item else {
        return PacingState::default();
    };
    PacingState {
        in_flight: item.n("in_flight").unwrap_or(0),
        cap: item.n("cap").map(|c| c.clamp(0, u32::MAX as i64) as u32),
        paused: item.bool("paused").unwrap_or(false),
        paused_reason: item.s("paused_reason").map(str::to_owned),
        paused_at: get_ts(item, "paused_at"),
    }
}

/// Reads the pacing state.
pub async fn get(store: &dyn Store) -> Result<PacingState, StoreError> {
    Ok(from_item(store.get(&keys::pacing()).await?.as_ref()))
}

/// "Dialing is not paused" (an absent flag counts as not paused).
fn not_paused() -> Condition {
    Condition::Or(vec![Condition::NotExists("paused".into()), Condition::Eq("paused".into(), Value::Bool(false))])
}

/// The claim's share of a call start: one more call in flight, only while
/// fewer than `cap` are, and only while dialing is not paused. When
/// `expected_cap` is given (automatic dials), the stored `cap` must still be
/// the one the dialer read, so a tick that lowered it wins the race.
pub fn claim_op(cap: u32, expected_cap: Option<u32>) -> WriteOp {
    let below_cap = Condition::Or(vec![
        Condition::NotExists("in_flight".into()),
        Condition::Lt("in_flight".into(), Value::N(cap as i64)),
    ]);
    let mut condition = Condition::And(vec![below_cap, not_paused()]);
    if let Some(expected) = expected_cap {
        condition = condition.and(Condition::Eq("cap".into(), Value::N(expected as i64)));
    }
    WriteOp::Update { key: keys::pacing(), update: Update::new().add("in_flight", 1), condition: Some(condition) }
}

/// The finish's share: one call fewer in flight.
pub fn release_op() -> WriteOp {
    WriteOp::Update { key: keys::pacing(), update: Update::new().add("in_flight", -1), condition: None }
}

/// Stores the capacity a tick computed and makes sure the counter exists;
/// returns the state after the write. A blind set is safe: `cap` is derived
/// from other items, never from this one.
pub async fn set_cap(store: &dyn Store, cap: u32, now: DateTime<Utc>) -> Result<PacingState, StoreError> {
    let update = Update::new().set("cap", cap).set("cap_at", ts(now)).set_if_absent("in_flight", 0i64);
    let item = store.update(&keys::pacing(), update, None).await?;
    Ok(from_item(Some(&item)))
}

/// Stops dialing (ticks dispatch nothing, claims are refused).
pub async fn pause(store: &dyn Store, reason: &str, now: DateTime<Utc>) -> Result<PacingState, StoreError> {
    let update = Update::new().set("paused", true).set("paused_reason", reason).set("paused_at", ts(now));
    let item = store.update(&keys::pacing(), update, None).await?;
    Ok(from_item(Some(&item)))
}

/// Lets dialing start again.
pub async fn resume(store: &dyn Store) -> Result<PacingState, StoreError> {
    let update = Update::new().set("paused", false).remove("paused_reason").remove("paused_at");
    let item = store.update(&keys::pacing(), update, None).await?;
    Ok(from_item(Some(&item)))
}
