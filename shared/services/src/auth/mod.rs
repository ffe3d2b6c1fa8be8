//! Authentication: passwords (argon2id), short-lived access JWTs (HS256),
//! rotating refresh tokens with reuse detection, login throttling, and the
//! bootstrap of the first admin. Authorization helpers ([`Actor`]) live here
//! too, so every service checks roles the same way.

pub mod jwt;
pub mod password;
pub mod throttle;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{Availability, Email, Phone, Role, User, UserId};
use ibrat_ports::{Condition, StoreError, Update};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::context::Deps;
use crate::repo::codec::ts;
use crate::repo::keys;
use crate::repo::tokens::{self, RefreshRecord, RotateError};
use crate::repo::users::{self, CreateUserError, UserRecord};

pub use jwt::{Claims, TokenError};
pub use password::{PasswordError, MIN_PASSWORD_LEN};

/// Who is asking: the authenticated user and their live role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
}

impl Actor {
    /// True for admins, who may see and change everything.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

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
            other => AuthError::Validation(other.to_string()),
        }
    }
}

/// What a successful login or refresh hands the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: u64,
    /// Opaque; exchange at `/api/auth/refresh`, once.
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

/// Tokens plus who they are for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    #[serde(flatten)]
    pub tokens: TokenPair,
    pub user: User,
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The stored form of a refresh token: its SHA-256, hex.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn chrono_dur(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::days(3650))
}

fn access_token(deps: &Deps, user: &User, now: DateTime<Utc>) -> Result<String, AuthError> {
    jwt::issue(deps.config.jwt_secret.expose().as_bytes(), &user.id, user.role, now, deps.config.access_ttl)
        .map(|(t, _)| t)
        .map_err(|e| AuthError::Internal(format!("signing: {e}")))
}

fn new_refresh(deps: &Deps, user: &UserId, family: &str, now: DateTime<Utc>) -> (String, RefreshRecord) {
    let secret = random_b64(32);
    let rec = RefreshRecord {
        token_hash: hash_refresh_token(&secret),
        user_id: user.clone(),
        family_id: family.to_owned(),
        used: false,
        created_at: now,
        expires_at: now + chrono_dur(deps.config.refresh_ttl),
    };
    (secret, rec)
}

fn pair(deps: &Deps, access: String, refresh: String) -> TokenPair {
    TokenPair {
        access_token: access,
        token_type: "Bearer",
        expires_in: deps.config.access_ttl.as_secs(),
        refresh_token: refresh,
        refresh_expires_in: deps.config.refresh_ttl.as_secs(),
    }
}

/// Starts a new session (a new refresh family) for `user`.
pub async fn issue_session(deps: &Deps, user: User) -> Result<Session, AuthError> {
    let now = deps.clock.now();
    let access = access_token(deps, &user, now)?;
    let family = hex::encode(Sha256::digest(random_b64(16).as_bytes()))[..32].to_owned();
    let (secret, rec) = new_refresh(deps, &user.id, &family, now);
    tokens::create_family(deps.store.as_ref(), &rec).await?;
    Ok(Session { tokens: pair(deps, access, secret), user })
}

/// Checks credentials (with throttling per account and per client address)
/// and starts a session.
pub async fn login(deps: &Deps, email: &str, password: &str, client_addr: Option<&str>) -> Result<Session, AuthError> {
    let store = deps.store.as_ref();
    let now = deps.clock.now();
    let normalized = email.trim().to_lowercase();
    let subjects = throttle::subjects(&normalized, client_addr);
    // Counted before the password is checked, so parallel guesses cannot
    // all pass a lockout read before any failure is recorded.
    if let Some(secs) = throttle::reserve(store, &subjects, now).await? {
        return Err(AuthError::Throttled { retry_after_secs: secs });
    }
    let record = match Email::parse(&normalized) {
        Ok(e) => users::get_by_email(store, &e).await?,
        Err(_) => None,
    };
    let ok = match &record {
        Some(rec) => password::verify(password, &rec.password_hash).await,
        None => {
            password::verify_dummy(password).await;
            false
        }
    };
    let Some(rec) = record.filter(|_| ok) else {
        tracing::info!("login failed");
        return Err(AuthError::InvalidCredentials);
    };
    if !rec.user.active {
        return Err(AuthError::Inactive);
    }
    throttle::succeeded(store, &subjects).await?;
    tracing::info!(user_id = %rec.user.id, "login");
    issue_session(deps, rec.user).await
}

/// The instant before which this user's tokens no longer count (set when
/// the password changes), epoch seconds.
async fn tokens_after(deps: &Deps, id: &UserId) -> Result<Option<(UserRecord, i64)>, AuthError> {
    let Some(item) = deps.store.get(&keys::user(id)).await? else {
        return Ok(None);
    };
    let rec = users::from_item(&item)?;
    Ok(Some((rec, item.n("tokens_after").unwrap_or(0))))
}

/// Exchanges a refresh token for a new pair. The old token stops working;
/// presenting an already used one revokes its whole family (theft).
pub async fn refresh(deps: &Deps, token: &str) -> Result<Session, AuthError> {
    let store = deps.store.as_ref();
    let now = deps.clock.now();
    if token.is_empty() || token.len() > 256 {
        return Err(AuthError::InvalidToken);
    }
    let Some(old) = tokens::get_token(store, &hash_refresh_token(token)).await? else {
        return Err(AuthError::InvalidToken);
    };
    let family = tokens::get_family(store, &old.family_id).await?;
    let Some(family) = family.filter(|f| !f.revoked && f.user_id == old.user_id) else {
        return Err(AuthError::InvalidToken);
    };
    if old.used {
        tracing::warn!(user_id = %old.user_id, family = %old.family_id, "refresh token reused; revoking its family");
        tokens::revoke_family(store, &old.family_id).await?;
        return Err(AuthError::InvalidToken);
    }
    if old.expires_at <= now {
        return Err(AuthError::InvalidToken);
    }
    let Some((rec, after)) = tokens_after(deps, &old.user_id).await? else {
        return Err(AuthError::InvalidToken);
    };
    if !rec.user.active {
        return Err(AuthError::Inactive);
    }
    if family.created_at.timestamp_millis() < after.saturating_mul(1000) {
        return Err(AuthError::InvalidToken);
    }
    let (secret, new) = new_refresh(deps, &old.user_id, &old.family_id, now);
    match tokens::rotate(store, &old, &new).await {
        Ok(()) => {}
        Err(RotateError::Replayed) => {
            tracing::warn!(user_id = %old.user_id, family = %old.family_id, "concurrent refresh reuse; revoking");
            tokens::revoke_family(store, &old.family_id).await?;
            return Err(AuthError::InvalidToken);
        }
        Err(RotateError::Store(e)) => return Err(e.into()),
    }
    let access = access_token(deps, &rec.user, now)?;
    Ok(Session { tokens: pair(deps, access, secret), user: rec.user })
}

/// Revokes the session the refresh token belongs to. Unknown tokens are
/// ignored, so logging out twice is fine.
pub async fn logout(deps: &Deps, token: &str) -> Result<(), AuthError> {
    if token.is_empty() || token.len() > 256 {
        return Ok(());
    }
    if let Some(rec) = tokens::get_token(deps.store.as_ref(), &hash_refresh_token(token)).await? {
        tokens::revoke_family(deps.store.as_ref(), &rec.family_id).await?;
    }
    Ok(())
}

/// Checks a bearer access token and that its user still exists and is
/// active; returns the user with their current role.
pub async fn authenticate(deps: &Deps, token: &str) -> Result<Actor, AuthError> {
    let now = deps.clock.now();
    let (id, claims) = jwt::verify(deps.config.jwt_secret.expose().as_bytes(), token, now).map_err(|e| match e {
        TokenError::Expired => AuthError::TokenExpired,
        TokenError::Invalid => AuthError::InvalidToken,
    })?;
    let Some((rec, after)) = tokens_after(deps, &id).await? else {
        return Err(AuthError::InvalidToken);
    };
    if !rec.user.active {
        return Err(AuthError::Inactive);
    }
    if claims.iat < after {
        return Err(AuthError::InvalidToken);
    }
    Ok(Actor { id, role: rec.user.role })
}

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
        Some(p) => {
            Phone::parse(p, deps.config.default_region).map(Some).map_err(|e| AuthError::Validation(e.to_string()))
        }
    }
}

async fn create_user(deps: &Deps, input: NewUser) -> Result<User, AuthError> {
    let email = Email::parse(&input.email).map_err(|e| AuthError::Validation(e.to_string()))?;
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
    let mut update = Update::new().set("updated_at", ts(deps.clock.now()));
    if let Some(n) = name {
        update = update.set("name", check_name(n)?);
    }
    if let Some(p) = phone {
        update = update.set_opt("phone", parse_phone(deps, Some(p))?.map(|p| p.as_str().to_owned()));
    }
    match deps.store.update(&keys::user(&actor.id), update, Some(Condition::exists())).await {
        Ok(item) => Ok(users::from_item(&item)?.user),
        Err(StoreError::ConditionFailed { .. }) => Err(AuthError::NotFound),
        Err(e) => Err(e.into()),
    }
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
    let update =
        Update::new().set("password_hash", hash).set("tokens_after", now.timestamp()).set("updated_at", ts(now));
    let item = match store.update(&keys::user(&actor.id), update, Some(Condition::exists())).await {
        Ok(item) => item,
        Err(StoreError::ConditionFailed { .. }) => return Err(AuthError::NotFound),
        Err(e) => return Err(e.into()),
    };
    throttle::succeeded(store, &subjects).await?;
    // Sockets opened with the old password's tokens close too.
    crate::realtime::revoke::close_user(deps, &actor.id).await?;
    tracing::info!(user_id = %actor.id, "password changed; earlier sessions revoked");
    issue_session(deps, users::from_item(&item)?.user).await
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
            let parsed = Email::parse(email).map_err(|e| AuthError::Validation(e.to_string()))?;
            match users::get_by_email(store, &parsed).await? {
                Some(r) if r.user.role == Role::Admin && r.user.active => Ok(EnsureAdmin::AlreadyPresent),
                _ => Ok(EnsureAdmin::EmailInUse),
            }
        }
        Err(e) => Err(e),
    }
}
