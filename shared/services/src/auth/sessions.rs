//! Sessions: login (throttled), access JWTs, rotating refresh tokens with
//! reuse detection, logout, and checking a bearer token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{Email, User, UserId};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{jwt, password, throttle, Actor, AuthError, TokenError};
use crate::context::Deps;
use crate::repo::tokens::{self, RefreshRecord, RotateError};
use crate::repo::users::{self, UserRecord};

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
    if let Some(secs) = throttle::retry_after(store, &subjects, now).await? {
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
        throttle::record_failure(store, &subjects, now).await?;
        tracing::info!("login failed");
        return Err(AuthError::InvalidCredentials);
    };
    if !rec.user.active {
        return Err(AuthError::Inactive);
    }
    throttle::reset(store, &subjects).await?;
    tracing::info!(user_id = %rec.user.id, "login");
    issue_session(deps, rec.user).await
}

/// The user with the instant before which their tokens no longer count
/// (set when the password changes), epoch seconds.
async fn tokens_after(deps: &Deps, id: &UserId) -> Result<Option<(UserRecord, i64)>, AuthError> {
    Ok(users::get_with_tokens_after(deps.store.as_ref(), id).await?)
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
