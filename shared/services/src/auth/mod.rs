//! Authentication and accounts: passwords (argon2id), short-lived access
//! JWTs (HS256), rotating refresh tokens with reuse detection ([`sessions`]),
//! login throttling, user accounts and the bootstrap of the first admin
//! ([`accounts`]), and who is asking ([`Actor`]), so every service checks
//! roles the same way.

pub mod accounts;
pub mod actor;
pub mod jwt;
pub mod password;
pub mod sessions;
pub mod throttle;

use ibrat_domain::{EmailError, PhoneError};
use ibrat_ports::StoreError;

pub use accounts::{
    change_password, check_name, ensure_admin, parse_phone, profile, register, reset_password, update_profile,
    EnsureAdmin, NewUser,
};
pub use actor::{Actor, AdminOnly};
pub use jwt::{Claims, TokenError};
pub use password::{PasswordError, MIN_PASSWORD_LEN};
pub use sessions::{authenticate, hash_refresh_token, issue_session, login, logout, refresh, Session, TokenPair};

/// Authentication failures, each mapped to one HTTP status by the API.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong email or password (never says which).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many failures; try again after this many seconds.
    #[error("too many failed attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    #[error("token expired")]
    TokenExpired,
    #[error("invalid or revoked token")]
    InvalidToken,
    /// The account exists but was deactivated.
    #[error("account is deactivated")]
    Inactive,
    /// The current password given to change it was wrong.
    #[error("current password is incorrect")]
    WrongPassword,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Validation(String),
    #[error(transparent)]
    Phone(#[from] PhoneError),
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    Password(PasswordError),
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("user not found")]
    NotFound,
    /// Hashing or signing failed: our fault, details logged only.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PasswordError> for AuthError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Hashing(m) => AuthError::Internal(m),
            other => AuthError::Password(other),
        }
    }
}

impl From<AdminOnly> for AuthError {
    fn from(e: AdminOnly) -> Self {
        AuthError::Forbidden(e.to_string())
    }
}
