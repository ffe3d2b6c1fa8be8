//! Authentication extractors. [`AuthUser`] reads `Authorization: Bearer`,
//! verifies the access token (HS256 only) and re-reads the user, so a
//! deactivated account is refused at once; [`AdminUser`] also requires the
//! admin role (403 otherwise). [`ClientAddr`] is the caller's address for
//! login throttling.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use ibrat_domain::{Role, UserId};
use ibrat_services::auth::{self, Actor, AuthError};

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated, active user, with their current role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: UserId,
    pub role: Role,
}

impl AuthUser {
    /// The services' view of the caller.
    pub fn actor(&self) -> Actor {
        Actor { id: self.id.clone(), role: self.role }
    }
}

/// An authenticated admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser(pub AuthUser);

impl AdminUser {
    /// The services' view of the caller.
    pub fn actor(&self) -> Actor {
        self.0.actor()
    }
}

/// Maps authentication failures to statuses: bad credentials and tokens
/// 401, throttling 429 with `Retry-After`, conflicts 409.
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "invalid email or password")
            }
            AuthError::Throttled { retry_after_secs } => ApiError::too_many(
                format!("too many failed attempts; try again in {retry_after_secs} seconds"),
                retry_after_secs,
            ),
            AuthError::TokenExpired => {
                ApiError::new(StatusCode::UNAUTHORIZED, "token_expired", "the token has expired")
            }
            AuthError::InvalidToken => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", "the token is invalid or revoked")
            }
            AuthError::Inactive => {
                ApiError::new(StatusCode::UNAUTHORIZED, "account_inactive", "this account is deactivated")
            }
            AuthError::WrongPassword => {
                ApiError::new(StatusCode::FORBIDDEN, "wrong_password", "the current password is incorrect")
            }
            AuthError::Forbidden(m) => ApiError::forbidden(m),
            AuthError::Validation(m) => ApiError::validation(m),
            e @ (AuthError::Phone(_) | AuthError::Email(_) | AuthError::Password(_)) => {
                ApiError::validation(e.to_string())
            }
            AuthError::EmailTaken => {
                ApiError::new(StatusCode::CONFLICT, "email_taken", "a user with this email exists")
            }
            AuthError::NotFound => ApiError::not_found("user"),
            AuthError::Internal(m) => ApiError::internal(m),
            AuthError::Store(s) => s.into(),
        }
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || ApiError::unauthorized("send `Authorization: Bearer <access token>`");
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let actor = auth::authenticate(&state.deps, token).await?;
        Ok(AuthUser { id: actor.id, role: actor.role })
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.role != Role::Admin {
            return Err(ApiError::forbidden("admins only"));
        }
        Ok(AdminUser(user))
    }
}

/// The caller's address as the platform saw it, put in the request's
/// extensions by whatever hosts the router (the `api` Lambda copies API
/// Gateway's `requestContext.http.sourceIp` here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client's address: [`ClientIp`] when the host supplied it (AWS), else
/// the socket peer (local mode), else unknown. Never a request header: a
/// client writes its own `X-Forwarded-For`, and API Gateway passes what the
/// client sent before its own hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ClientIp(ip)) = parts.extensions.get::<ClientIp>() {
            return Ok(ClientAddr(Some(ip.to_string())));
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(ClientAddr(peer))
    }
}
