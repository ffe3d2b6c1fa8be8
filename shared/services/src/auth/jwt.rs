//! Access tokens: HS256 JWTs with `sub`, `role`, `iat`, `exp` and `jti`.
//! Verification pins HS256, so `alg: none` and every other algorithm are
//! refused before the signature is even considered. Expiry is checked
//! against the service's [`Clock`](ibrat_ports::Clock), not the host's, so
//! tests can move time.

use chrono::{DateTime, Utc};
use ibrat_domain::{Role, UserId};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The role when the token was issued (the live role is re-read).
    pub role: String,
    /// Issued at, epoch seconds.
    pub iat: i64,
    /// Expires at, epoch seconds.
    pub exp: i64,
    /// Unique token id, for audit logs.
    pub jti: String,
}

/// Why a token was refused. Deliberately coarse: clients learn nothing
/// about which check failed beyond "expired" versus "invalid".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
}

/// Signs a token for `user` valid for `ttl` from `now`.
pub fn issue(
    secret: &[u8],
    user: &UserId,
    role: Role,
    now: DateTime<Utc>,
    ttl: std::time::Duration,
) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
    let iat = now.timestamp();
    let claims = Claims {
        sub: user.to_string(),
        role: role.as_str().to_owned(),
        iat,
        exp: iat.saturating_add(ttl.as_secs().min(i64::MAX as u64) as i64),
        jti: uuid::Uuid::new_v4().simple().to_string(),
    };
    let token = encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))?;
    Ok((token, claims))
}

/// Checks signature (HS256 only), shape and expiry at `now`.
pub fn verify(secret: &[u8], token: &str, now: DateTime<Utc>) -> Result<(UserId, Claims), TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    // Expiry is checked below against the injected clock.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data =
        decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation).map_err(|_| TokenError::Invalid)?;
    let claims = data.claims;
    if claims.exp <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    let user = UserId::parse(&claims.sub).map_err(|_| TokenError::Invalid)?;
    Ok((user, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use std::time::Duration;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trips_and_expires() {
        let now = Utc::now();
        let id = UserId::new();
        let (t, c) = issue(KEY, &id, Role::Admin, now, Duration::from_secs(60)).unwrap();
        let (got, claims) = verify(KEY, &t, now).unwrap();
        assert_eq!(got, id);
        assert_eq!(claims, c);
        assert_eq!(verify(KEY, &t, now + chrono::Duration::seconds(61)), Err(TokenError::Expired));
        assert_eq!(verify(b"another-key-another-key-another!", &t, now), Err(TokenError::Invalid));
    }

    #[test]
    fn refuses_alg_none_and_other_algorithms() {
        let now = Utc::now();
        let (t, _) = issue(KEY, &UserId::new(), Role::Admin, now, Duration::from_secs(60)).unwrap();
        let payload = t.split('.').nth(1).unwrap();
        for alg in ["none", "HS512", "RS256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            assert_eq!(verify(KEY, &format!("{header}.{payload}."), now), Err(TokenError::Invalid), "{alg}");
        }
        assert_eq!(verify(KEY, "garbage", now), Err(TokenError::Invalid));
    }
}
