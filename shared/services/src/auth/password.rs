//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes,
//! one lane, the OWASP baseline). Hashing runs on the blocking pool so a
//! login never stalls the async workers, and at most
//! [`MAX_CONCURRENT_HASHES`] run at once: each takes 19 MiB, and the login
//! route is open to anyone, so a burst of requests waits its turn instead
//! of exhausting memory.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (hashing cost must stay bounded).
pub const MAX_PASSWORD_LEN: usize = 256;

/// Argon2 computations allowed at once in this process (19 MiB each).
pub const MAX_CONCURRENT_HASHES: usize = 4;

fn hashing_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(MAX_CONCURRENT_HASHES))
}

/// Runs one argon2 computation on the blocking pool once a permit is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    // The semaphore is never closed, so acquiring only waits.
    let _permit = hashing_permits().acquire().await.ok()?;
    tokio::task::spawn_blocking(move || {
        #[cfg(test)]
        let _running = tests::Running::start();
        work()
    })
    .await
    .ok()
}

/// Why a password or hash could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("password must be at most {MAX_PASSWORD_LEN} characters")]
    TooLong,
    /// Hashing itself failed (never the password's fault).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Checks the length rules (counted in characters, not bytes).
pub fn check_strength(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Err(PasswordError::TooShort)
    } else if n > MAX_PASSWORD_LEN {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// Hashes a password into a PHC string, after checking its strength.
pub async fn hash(password: &str) -> Result<String, PasswordError> {
    let password = password.to_owned();
    bounded(move || hash_blocking(&password))
        .await
        .unwrap_or_else(|| Err(PasswordError::Hashing("the hashing task failed".into())))
}

/// Hashes synchronously (for command-line tools and test fixtures; async
/// code uses [`hash`]). Checks strength like [`hash`].
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    check_strength(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// True when `password` matches the PHC string. A malformed hash never
/// matches. Over-long input is refused without hashing.
pub async fn verify(password: &str, phc: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_LEN {
        return false;
    }
    let (password, phc) = (password.to_owned(), phc.to_owned());
    bounded(move || verify_blocking(&password, &phc)).await.unwrap_or(false)
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Spends the same effort as a real check when the account does not exist,
/// so response times do not reveal which emails are registered.
pub async fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let h =
                bounded(|| hash_blocking("dummy-password-for-timing").unwrap_or_default()).await.unwrap_or_default();
            DUMMY.get_or_init(|| h).clone()
        }
    };
    let _ = verify(password, &phc).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn hashes_verify_and_refuse_wrong_passwords() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h).await);
        assert!(!verify("wrong horse battery", &h).await);
        assert!(!verify("anything", "not a hash").await);
        assert!(matches!(hash("short").await, Err(PasswordError::TooShort)));
        assert!(matches!(check_strength(&"x".repeat(300)), Err(PasswordError::TooLong)));
    }

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// Counts argon2 computations actually running on the blocking pool.
    pub(super) struct Running;

    impl Running {
        pub(super) fn start() -> Self {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(now, Ordering::SeqCst);
            Running
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_checks_never_exceed_the_hashing_bound() {
        let phc = hash_blocking("correct horse battery").unwrap();
        let checks: Vec<_> = (0..32)
            .map(|_| {
                let phc = phc.clone();
                tokio::spawn(async move { verify("wrong horse battery", &phc).await })
            })
            .collect();
        for c in checks {
            assert!(!c.await.unwrap());
        }
        let peak = PEAK.load(Ordering::SeqCst);
        assert!((2..=MAX_CONCURRENT_HASHES).contains(&peak), "peak {peak}");
    }
}
