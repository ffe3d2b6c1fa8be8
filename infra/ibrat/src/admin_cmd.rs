//! `ibrat create-admin`: creates the first admin directly in a data
//! directory's store (no server needed; stop `serve` first, the database
//! allows one process at a time).

use std::path::Path;

use ibrat_domain::{Email, Role};
use ibrat_services::auth::{self, AuthError, EnsureAdmin};
use ibrat_services::repo::users;
use ibrat_services::Config;

use crate::offline;
use crate::system::StartError;

/// Why no admin was created; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Open(#[from] StartError),
    #[error("the admin could not be created: {0}")]
    Create(#[from] AuthError),
    #[error("the user store could not be read: {0}")]
    Store(#[from] ibrat_ports::StoreError),
    #[error("an admin exists already; sign in as them and add more admins with POST /api/auth/register")]
    AdminExists,
    #[error("{0} belongs to a user who is not an admin; use another email")]
    EmailInUse(String),
}

/// What `create-admin` did, for the message it prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCreated {
    /// A new admin.
    Created,
    /// This email was already an admin; nothing changed.
    AlreadyAdmin,
}

/// Creates the first admin with this email and password.
pub async fn create_admin(
    data_dir: &Path,
    config: Config,
    email: &str,
    password: &str,
) -> Result<AdminCreated, AdminError> {
    let deps = offline::deps(data_dir, config)?;
    match auth::ensure_admin(&deps, email, password, "Admin").await? {
        EnsureAdmin::Created(_) => Ok(AdminCreated::Created),
        EnsureAdmin::EmailInUse => Err(AdminError::EmailInUse(email.to_owned())),
        EnsureAdmin::AlreadyPresent => {
            let parsed = Email::parse(email).map_err(|e| AuthError::Validation(e.to_string()))?;
            match users::get_by_email(deps.store.as_ref(), &parsed).await? {
                Some(r) if r.user.role == Role::Admin && r.user.active => Ok(AdminCreated::AlreadyAdmin),
                _ => Err(AdminError::AdminExists),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_admin_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let created = create_admin(dir.path(), Config::for_tests(), "boss@example.com", "long-enough-pw").await;
        assert_eq!(created.unwrap(), AdminCreated::Created);
        let again = create_admin(dir.path(), Config::for_tests(), "boss@example.com", "long-enough-pw").await;
        assert_eq!(again.unwrap(), AdminCreated::AlreadyAdmin);
        let other = create_admin(dir.path(), Config::for_tests(), "other@example.com", "long-enough-pw").await;
        assert!(matches!(other, Err(AdminError::AdminExists)));
    }

    #[tokio::test]
    async fn a_short_password_is_refused_in_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let err = create_admin(dir.path(), Config::for_tests(), "boss@example.com", "short").await.unwrap_err();
        assert_eq!(err.to_string(), "the admin could not be created: password must be at least 10 characters");
    }
}
