//! Login throttling policy: after a few consecutive failures a subject (an
//! account or a client address) is locked out for a delay that doubles with
//! every further failure (1 s, 2 s, 4 s, ... capped at 15 minutes). A
//! successful login resets both subjects.

use chrono::{DateTime, Duration, Utc};
use ibrat_ports::{Store, StoreError};

use crate::repo::throttle as repo;

/// Failures of one account tolerated before lockouts begin.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures from one address tolerated before lockouts begin (higher: many
/// people can share an address behind NAT).
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// The longest lockout.
pub const MAX_LOCKOUT_SECS: i64 = 15 * 60;

/// The lockout after `failures` consecutive failures, none while under `free`.
pub fn lockout_secs(failures: u32, free: u32) -> Option<i64> {
    if failures < free {
        return None;
    }
    let exp = (failures - free).min(20);
    Some((1i64 << exp).min(MAX_LOCKOUT_SECS))
}

/// The throttle subjects of one attempt: (key, failures tolerated).
pub fn subjects(email: &str, address: Option<&str>) -> Vec<(String, u32)> {
    let mut out = vec![(format!("acct:{email}"), ACCOUNT_FREE_FAILURES)];
    if let Some(a) = address.filter(|a| !a.is_empty()) {
        out.push((format!("ip:{a}"), ADDRESS_FREE_FAILURES));
    }
    out
}

/// Seconds until the subjects accept attempts again (None: they do now).
pub async fn retry_after(
    store: &dyn Store,
    subjects: &[(String, u32)],
    now: DateTime<Utc>,
) -> Result<Option<u64>, StoreError> {
    let mut wait = 0i64;
    for (subject, _) in subjects {
        let state = repo::get(store, subject).await?;
        if let Some(until) = state.locked_until.filter(|u| *u > now) {
            let ms = (until - now).num_milliseconds();
            wait = wait.max((ms + 999) / 1000);
        }
    }
    Ok((wait > 0).then_some(wait as u64))
}

/// Records a failure for every subject and locks out those over their
/// allowance; returns the longest lockout now in force, in seconds.
pub async fn record_failure(
    store: &dyn Store,
    subjects: &[(String, u32)],
    now: DateTime<Utc>,
) -> Result<Option<u64>, StoreError> {
    let mut longest = None;
    for (subject, free) in subjects {
        let failures = repo::add_failure(store, subject, now).await?;
        if let Some(secs) = lockout_secs(failures, *free) {
            repo::lock_until(store, subject, now + Duration::seconds(secs)).await?;
            longest = Some(longest.unwrap_or(0).max(secs as u64));
        }
    }
    Ok(longest)
}

/// Forgets the failures of every subject.
pub async fn reset(store: &dyn Store, subjects: &[(String, u32)]) -> Result<(), StoreError> {
    for (subject, _) in subjects {
        repo::reset(store, subject).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_grow_and_cap() {
        assert_eq!(lockout_secs(4, 5), None);
        assert_eq!(lockout_secs(5, 5), Some(1));
        assert_eq!(lockout_secs(6, 5), Some(2));
        assert_eq!(lockout_secs(8, 5), Some(8));
        assert_eq!(lockout_secs(40, 5), Some(MAX_LOCKOUT_SECS));
        assert_eq!(lockout_secs(u32::MAX, 5), Some(MAX_LOCKOUT_SECS));
    }
}
