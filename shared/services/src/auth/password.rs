//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes,
//! one lane, the OWASP baseline). Hashing runs on the blocking pool so a
//! login never stalls the async workers.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (hashing cost must stay bounded).
pub const MAX_PASSWORD_LEN: usize = 256;

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
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| PasswordError::Hashing(e.to_string()))?
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
    tokio::task::spawn_blocking(move || verify_blocking(&password, &phc)).await.unwrap_or(false)
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
            let h = tokio::task::spawn_blocking(|| hash_blocking("dummy-password-for-timing").unwrap_or_default())
                .await
                .unwrap_or_default();
            DUMMY.get_or_init(|| h).clone()
        }
    };
    let _ = verify(password, &phc).await;
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
