//! Login throttling state: one `THROTTLE#<subject>` item per account or
//! client address, counting consecutive failures and holding the current
//! lockout. Items expire a day after the last failure.

use chrono::{DateTime, TimeZone, Utc};
use ibrat_ports::{Condition, Store, StoreError, Update, Value};

use super::keys;

/// How long a throttle item outlives its last failure.
pub const THROTTLE_TTL_SECS: i64 = 24 * 3600;

/// The state of one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleState {
    /// Consecutive failures.
    pub failures: u32,
    /// No attempt is accepted before this instant.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Reads a subject's state (none yet: zero failures).
pub async fn get(store: &dyn Store, subject: &str) -> Result<ThrottleState, StoreError> {
    let Some(item) = store.get(&keys::throttle(subject)).await? else {
        return Ok(ThrottleState::default());
    };
    Ok(ThrottleState {
        failures: item.n("failures").unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
        locked_until: item.n("locked_until").and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
    })
}

/// Moves the subject from `seen` (as read by [`get`]) to `failures`
/// attempts, locked until `locked_until` when given, only if nobody moved it
/// since: of racing attempts exactly one wins each step. Returns false when
/// another attempt got there first (read again and retry).
pub async fn advance(
    store: &dyn Store,
    subject: &str,
    seen: ThrottleState,
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let same_count = if seen.failures == 0 {
        Condition::Or(vec![Condition::NotExists("failures".into()), Condition::eq("failures", 0i64)])
    } else {
        Condition::eq("failures", i64::from(seen.failures))
    };
    let same_lock = match seen.locked_until {
        None => Condition::NotExists("locked_until".into()),
        Some(t) => Condition::Eq("locked_until".into(), Value::N(t.timestamp_millis())),
    };
    let mut update =
        Update::new().set("failures", i64::from(failures)).set("expires_at", now.timestamp() + THROTTLE_TTL_SECS);
    if let Some(until) = locked_until {
        update = update.set("locked_until", until.timestamp_millis());
    }
    match store.update(&keys::throttle(subject), update, Some(same_count.and(same_lock))).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Takes back one counted attempt (it turned out to be a success), never
/// below zero.
pub async fn refund(store: &dyn Store, subject: &str) -> Result<(), StoreError> {
    let update = Update::new().add("failures", -1);
    match store.update(&keys::throttle(subject), update, Some(Condition::Gt("failures".into(), Value::N(0)))).await {
        Ok(_) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Forgets a subject's count (the account, after a successful login).
pub async fn reset(store: &dyn Store, subject: &str) -> Result<(), StoreError> {
    store.delete(&keys::throttle(subject), None).await.map(|_| ())
}
