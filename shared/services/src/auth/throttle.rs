//! Login throttling policy: every attempt is counted against its subjects
//! (the account, and the client address when known) *before* the password
//! is checked, by a conditional write of which racing attempts win one at a
//! time, so parallel guesses cannot slip past the count. After a few
//! attempts a subject is locked out for a delay that doubles with every
//! further attempt (1 s, 2 s, 4 s, ... capped at 15 minutes). A successful
//! login clears the account's count and takes back only its own attempt
//! from the address, so one valid account cannot wipe an address's record
//! of guesses at others.

use chrono::{DateTime, Duration, Utc};
use ibrat_ports::{Store, StoreError};

use crate::repo::throttle as repo;

/// Attempts on one account tolerated before lockouts begin.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failed attempts from one address tolerated before lockouts begin
/// (higher: many people can share an address behind NAT).
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// The longest lockout.
pub const MAX_LOCKOUT_SECS: i64 = 15 * 60;
/// Lost races before an attempt gives up and counts as throttled.
const RESERVE_TRIES: usize = 8;

/// The lockout after `failures` consecutive failures, none while under `free`.
pub fn lockout_secs(failures: u32, free: u32) -> Option<i64> {
    if failures < free {
        return None;
    }
    let exp = (failures - free).min(20);
    Some((1i64 << exp).min(MAX_LOCKOUT_SECS))
}

/// What an attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The throttle key (`acct:<email>` or `ip:<address>`).
    pub key: String,
    /// Attempts tolerated before lockouts begin.
    pub free: u32,
    /// True for the account, false for the client address.
    pub account: bool,
}

/// The throttle subjects of one attempt.
pub fn subjects(email: &str, address: Option<&str>) -> Vec<Subject> {
    let mut out = vec![Subject { key: format!("acct:{email}"), free: ACCOUNT_FREE_FAILURES, account: true }];
    if let Some(a) = address.filter(|a| !a.is_empty()) {
        out.push(Subject { key: format!("ip:{a}"), free: ADDRESS_FREE_FAILURES, account: false });
    }
    out
}

/// Counts one attempt against every subject before any password is
/// checked. `Ok(None)`: go ahead; `Ok(Some(secs))`: a subject is locked
/// out for that long, do not check the password.
pub async fn reserve(store: &dyn Store, subjects: &[Subject], now: DateTime<Utc>) -> Result<Option<u64>, StoreError> {
    for subject in subjects {
        if let Some(wait) = reserve_one(store, subject, now).await? {
            return Ok(Some(wait));
        }
    }
    Ok(None)
}

async fn reserve_one(store: &dyn Store, subject: &Subject, now: DateTime<Utc>) -> Result<Option<u64>, StoreError> {
    for _ in 0..RESERVE_TRIES {
        let seen = repo::get(store, &subject.key).await?;
        if let Some(until) = seen.locked_until.filter(|u| *u > now) {
            let ms = until.signed_duration_since(now).num_milliseconds();
            return Ok(Some(((ms + 999) / 1000).max(1) as u64));
        }
        let failures = seen.failures.saturating_add(1);
        let lock = lockout_secs(failures, subject.free).map(|secs| now + Duration::seconds(secs));
        if repo::advance(store, &subject.key, seen, failures, lock, now).await? {
            return Ok(None);
        }
    }
    // Many attempts at once on one subject: this one waits its turn.
    Ok(Some(1))
}

/// After a successful attempt: the account starts afresh; the address only
/// gets this attempt back.
pub async fn succeeded(store: &dyn Store, subjects: &[Subject]) -> Result<(), StoreError> {
    for subject in subjects {
        if subject.account {
            repo::reset(store, &subject.key).await?;
        } else {
            repo::refund(store, &subject.key).await?;
        }
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
