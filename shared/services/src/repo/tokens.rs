//! Refresh tokens and their families. A token is stored only as the SHA-256
//! of its secret (`REFRESH#<hash>`), so a leaked table cannot be replayed;
//! every rotation of one login shares a family (`RFAMILY#<id>`) whose
//! `revoked` flag kills all of them at once when a used token reappears.

use chrono::{DateTime, Utc};
use ibrat_domain::UserId;
use ibrat_ports::{Condition, Item, Key, Store, StoreError, Update, Value, WriteOp};

use super::codec::{get_ts, req_parse, req_s, ts};
use super::keys;

/// One stored refresh token.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRecord {
    /// Hex SHA-256 of the secret: the key, never the secret itself.
    pub token_hash: String,
    pub user_id: UserId,
    pub family_id: String,
    /// Set once the token was exchanged; seeing it again means theft.
    pub used: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One login's chain of rotated tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyRecord {
    pub family_id: String,
    pub user_id: UserId,
    pub revoked: bool,
    pub created_at: DateTime<Utc>,
}

fn epoch_secs(t: DateTime<Utc>) -> i64 {
    t.timestamp().max(0)
}

/// The item of a new, unused refresh token (TTL at its expiry).
pub fn token_item(rec: &RefreshRecord) -> Item {
    Item::with_key(&keys::refresh_token(&rec.token_hash))
        .with("user_id", rec.user_id.as_str())
        .with("family_id", rec.family_id.as_str())
        .with("used", rec.used)
        .with("created_at", ts(rec.created_at))
        .with("token_expires_at", ts(rec.expires_at))
        .with("expires_at", epoch_secs(rec.expires_at))
}

/// Reads a token item.
pub fn token_from_item(token_hash: &str, item: &Item) -> Result<RefreshRecord, StoreError> {
    Ok(RefreshRecord {
        token_hash: token_hash.to_owned(),
        user_id: req_parse(item, "user_id", UserId::parse)?,
        family_id: req_s(item, "family_id")?.to_owned(),
        used: item.bool("used").unwrap_or(false),
        created_at: get_ts(item, "created_at").unwrap_or_default(),
        expires_at: get_ts(item, "token_expires_at").unwrap_or_default(),
    })
}

/// Reads a token by the hash of its secret (expired tokens are absent).
pub async fn get_token(store: &dyn Store, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
    store.get(&keys::refresh_token(token_hash)).await?.map(|i| token_from_item(token_hash, &i)).transpose()
}

/// Reads a family.
pub async fn get_family(store: &dyn Store, family_id: &str) -> Result<Option<FamilyRecord>, StoreError> {
    let Some(item) = store.get(&keys::refresh_family(family_id)).await? else {
        return Ok(None);
    };
    Ok(Some(FamilyRecord {
        family_id: family_id.to_owned(),
        user_id: req_parse(&item, "user_id", UserId::parse)?,
        revoked: item.bool("revoked").unwrap_or(false),
        created_at: get_ts(&item, "created_at").unwrap_or_default(),
    }))
}

/// Starts a family with its first token, both at once.
pub async fn create_family(store: &dyn Store, first: &RefreshRecord) -> Result<(), StoreError> {
    let family = Item::with_key(&keys::refresh_family(&first.family_id))
        .with("user_id", first.user_id.as_str())
        .with("revoked", false)
        .with("created_at", ts(first.created_at))
        .with("expires_at", epoch_secs(first.expires_at));
    store
        .transact_write(vec![
            WriteOp::Put { item: family, condition: Some(Condition::not_exists()) },
            WriteOp::Put { item: token_item(first), condition: Some(Condition::not_exists()) },
        ])
        .await
}

/// Why a rotation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The old token was used meanwhile or the family was revoked: a replay.
    #[error("refresh token already used or revoked")]
    Replayed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Exchanges `old` for `new` in one transaction: `old` becomes used (only if
/// it was not), `new` is stored, and the family must not be revoked; the
/// family's lifetime is stretched to the new token's.
pub async fn rotate(store: &dyn Store, old: &RefreshRecord, new: &RefreshRecord) -> Result<(), RotateError> {
    let not_used =
        Condition::Or(vec![Condition::NotExists("used".into()), Condition::Eq("used".into(), Value::Bool(false))]);
    let ops = vec![
        WriteOp::Update {
            key: keys::refresh_token(&old.token_hash),
            update: Update::new().set("used", true),
            condition: Some(Condition::exists().and(not_used)),
        },
        WriteOp::Put { item: token_item(new), condition: Some(Condition::not_exists()) },
        WriteOp::Update {
            key: keys::refresh_family(&old.family_id),
            update: Update::new().set("expires_at", epoch_secs(new.expires_at)),
            condition: Some(Condition::exists().and(Condition::eq("revoked", false))),
        },
    ];
    match store.transact_write(ops).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failed() => Err(RotateError::Replayed),
        Err(e) => Err(e.into()),
    }
}

/// Revokes a family: none of its tokens works any more. Idempotent.
pub async fn revoke_family(store: &dyn Store, family_id: &str) -> Result<(), StoreError> {
    let update = Update::new().set("revoked", true);
    match store.update(&keys::refresh_family(family_id), update, Some(Condition::exists())).await {
        Ok(_) => Ok(()),
        Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The key of a token item, for tests and diagnostics.
pub fn token_key(token_hash: &str) -> Key {
    keys::refresh_token(token_hash)
}
