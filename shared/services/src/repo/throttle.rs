//! Login throttling state: one `THROTTLE#<subject>` item per account or
//! client address, counting consecutive failures and holding the current
//! lockout. Items expire a day after the last failure.

use chrono::{DateTime, TimeZone, Utc};
use ibrat_ports::{Store, StoreError, Update};

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

/// Counts one more failure atomically; returns the new count.
pub async fn add_failure(store: &dyn Store, subject: &str, now: DateTime<Utc>) -> Result<u32, StoreError> {
    let update = Update::new().add("failures", 1).set("expires_at", now.timestamp() + THROTTLE_TTL_SECS);
    let item = store.update(&keys::throttle(subject), update, None).await?;
    Ok(item.n("failures").unwrap_or(1).clamp(0, u32::MAX as i64) as u32)
}

/// Locks the subject out until `until`.
pub async fn lock_until(store: &dyn Store, subject: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
    let update = Update::new().set("locked_until", until.timestamp_millis());
    store.update(&keys::throttle(subject), update, None).await.map(|_| ())
}

/// Forgets a subject's failures (after a successful login).
pub async fn reset(store: &dyn Store, subject: &str) -> Result<(), StoreError> {
    store.delete(&keys::throttle(subject), None).await.map(|_| ())
}
