//! Accounts: creating users (admins only), the actor's own profile and
//! password, and the bootstrap of the first admin.

use ibrat_domain::{Availability, Email, Phone, Role, User, UserId};

use super::sessions::{issue_session, Session};
use super::{password, throttle, Actor, AuthError};
use crate::context::Deps;
use crate::repo::users::{self, CreateUserError, UserChanges, UserRecord};

/// A new user, as an admin enters it.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: String,
    pub role: Role,
    pub phone: Option<String>,
}

/// Checks a display name.
pub fn check_name(name: &str) -> Result<String, AuthError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 {
        return Err(AuthError::Validation("name must be 1 to 100 characters".into()));
    }
    Ok(n.to_owned())
}

/// Parses an optional phone number in the deployment's default region.
pub fn parse_phone(deps: &Deps, phone: Option<&str>) -> Result<Option<Phone>, AuthError> {
    match phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => Ok(Some(Phone::parse(p, deps.config.default_region)?)),
    }
}

async fn create_user(deps: &Deps, input: NewUser) -> Result<User, AuthError> {
    let email = Email::parse(&input.email)?;
    let name = check_name(&input.name)?;
    let phone = parse_phone(deps, input.phone.as_deref())?;
    let password_hash = password::hash(&input.password).await?;
    let now = deps.clock.now();
    let user = User {
        id: UserId::new(),
        name,
        email,
        phone,
        role: input.role,
        active: true,
        availability: Availability::Offline,
        availability_since: now,
        created_at: now,
        updated_at: now,
    };
    let rec = UserRecord { user, password_hash };
    match users::create(deps.store.as_ref(), &rec).await {
        Ok(()) => Ok(rec.user),
        Err(CreateUserError::EmailTaken) => Err(AuthError::EmailTaken),
        Err(CreateUserError::Store(e)) => Err(e.into()),
    }
}

/// Creates a user; only admins may (there is no self-registration).
pub async fn register(deps: &Deps, actor: &Actor, input: NewUser) -> Result<User, AuthError> {
    if !actor.is_admin() {
        return Err(AuthError::Forbidden("only admins may create users".into()));
    }
    let user = create_user(deps, input).await?;
    tracing::info!(user_id = %user.id, role = user.role.as_str(), by = %actor.id, "user created");
    Ok(user)
}

/// The actor's own user record.
pub async fn profile(deps: &Deps, actor: &Actor) -> Result<User, AuthError> {
    users::get(deps.store.as_ref(), &actor.id).await?.map(|r| r.user).ok_or(AuthError::NotFound)
}

/// Changes the actor's own name and phone (None leaves a field as is; an
/// empty phone removes it).
pub async fn update_profile(
    deps: &Deps,
    actor: &Actor,
    name: Option<&str>,
    phone: Option<&str>,
) -> Result<User, AuthError> {
    let mut changes = UserChanges::new(deps.clock.now());
    if let Some(n) = name {
        changes = changes.name(&check_name(n)?);
    }
    if let Some(p) = phone {
        changes = changes.phone(parse_phone(deps, Some(p))?.as_ref());
    }
    users::update(deps.store.as_ref(), &actor.id, changes).await?.map(|r| r.user).ok_or(AuthError::NotFound)
}

/// Changes the actor's password after checking the current one (throttled
/// like logins). Every earlier token stops working; a fresh session is
/// returned so the caller stays signed in.
pub async fn change_password(deps: &Deps, actor: &Actor, current: &str, new: &str) -> Result<Session, AuthError> {
    let store = deps.store.as_ref();
    let now = deps.clock.now();
    let rec = users::get(store, &actor.id).await?.ok_or(AuthError::NotFound)?;
    let subjects = throttle::subjects(rec.user.email.as_str(), None);
    if let Some(secs) = throttle::reserve(store, &subjects, now).await? {
        return Err(AuthError::Throttled { retry_after_secs: secs });
    }
    if !password::verify(current, &rec.password_hash).await {
        return Err(AuthError::WrongPassword);
    }
    let hash = password::hash(new).await?;
    let changes = UserChanges::new(now).password(hash, now);
    let rec = users::update(store, &actor.id, changes).await?.ok_or(AuthError::NotFound)?;
    throttle::succeeded(store, &subjects).await?;
    // Sockets opened with the old password's tokens close too.
    crate::realtime::revoke::close_user(deps, &actor.id).await?;
    tracing::info!(user_id = %actor.id, "password changed; earlier sessions revoked");
    issue_session(deps, rec.user).await
}

/// Sets another user's password: an admin's reset for someone locked out
/// of their account. Their tokens and open sockets stop working at once,
/// as after their own change.
pub async fn reset_password(deps: &Deps, actor: &Actor, id: &UserId, new: &str) -> Result<User, AuthError> {
    if !actor.is_admin() {
        return Err(AuthError::Forbidden("only admins may reset passwords".into()));
    }
    let now = deps.clock.now();
    let hash = password::hash(new).await?;
    let changes = UserChanges::new(now).password(hash, now);
    let rec = users::update(deps.store.as_ref(), id, changes).await?.ok_or(AuthError::NotFound)?;
    crate::realtime::revoke::close_user(deps, id).await?;
    tracing::info!(user_id = %id, by = %actor.id, "password reset by an admin; earlier sessions revoked");
    Ok(rec.user)
}

/// What [`ensure_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsureAdmin {
    /// No admin existed; this one was created.
    Created(UserId),
    /// An active admin already exists; nothing was written.
    AlreadyPresent,
    /// No admin existed but the email belongs to a non-admin user; nothing
    /// was written (an operator must sort it out).
    EmailInUse,
}

/// Creates the first admin from configuration (`IBRAT_ADMIN_EMAIL`,
/// `IBRAT_ADMIN_PASSWORD`) when no active admin exists. Idempotent, and
/// safe when several processes start at once: the email claim inside
/// `repo::users::create` lets exactly one of them create the user.
pub async fn ensure_admin(deps: &Deps, email: &str, password: &str, name: &str) -> Result<EnsureAdmin, AuthError> {
    let store = deps.store.as_ref();
    let all = users::list_all(store).await?;
    if all.iter().any(|r| r.user.role == Role::Admin && r.user.active) {
        return Ok(EnsureAdmin::AlreadyPresent);
    }
    let input = NewUser {
        email: email.to_owned(),
        password: password.to_owned(),
        name: name.to_owned(),
        role: Role::Admin,
        phone: None,
    };
    match create_user(deps, input).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, "first admin created");
            Ok(EnsureAdmin::Created(user.id))
        }
        Err(AuthError::EmailTaken) => {
            let parsed = Email::parse(email)?;
            match users::get_by_email(store, &parsed).await? {
                Some(r) if r.user.role == Role::Admin && r.user.active => Ok(EnsureAdmin::AlreadyPresent),
                _ => Ok(EnsureAdmin::EmailInUse),
            }
        }
        Err(e) => Err(e),
    }
}
