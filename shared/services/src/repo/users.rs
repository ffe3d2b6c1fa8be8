//! Users in the table: the user item (with its password hash, which never
//! leaves this module except to the password check) and the email claim.

use chrono::{DateTime, Utc};
use ibrat_domain::{Availability, CallId, Email, Phone, Role, User, UserId};
use ibrat_ports::store::schema::{GSI1, GSI3};
use ibrat_ports::{Condition, Item, Query, Store, StoreError, Update, Value, WriteOp};

use super::codec::{get_ts, opt_parse, req_enum, req_parse, req_s, req_ts, ts};
use super::keys;

/// A user as stored, with the secret the domain type leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// Builds the full user item, including its index keys.
pub fn to_item(rec: &UserRecord) -> Item {
    let u = &rec.user;
    let mut item = Item::with_key(&keys::user(&u.id))
        .with("id", u.id.as_str())
        .with("name", u.name.as_str())
        .with("email", u.email.as_str())
        .with_opt("phone", u.phone.as_ref().map(|p| p.as_str()))
        .with("role", u.role.as_str())
        .with("active", u.active)
        .with("availability", u.availability.as_str())
        .with("availability_since", ts(u.availability_since))
        .with("created_at", ts(u.created_at))
        .with("updated_at", ts(u.updated_at))
        .with("password_hash", rec.password_hash.as_str())
        .with(GSI1.pk, keys::USERS_PK)
        .with(GSI1.sk, keys::users_sk(u.role, u.created_at, &u.id));
    if u.active && u.availability == Availability::Available {
        item.insert(GSI3.pk, keys::AVAILABLE_PK);
        item.insert(GSI3.sk, keys::available_sk(u.availability_since, &u.id));
    }
    item
}

/// Reads a user item.
pub fn from_item(item: &Item) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        user: User {
            id: req_parse(item, "id", UserId::parse)?,
            name: req_s(item, "name")?.to_owned(),
            email: req_parse(item, "email", Email::parse)?,
            phone: opt_parse(item, "phone", Phone::parse_e164)?,
            role: req_enum(item, "role", Role::parse)?,
            active: item.bool("active").unwrap_or(false),
            availability: req_enum(item, "availability", Availability::parse)?,
            availability_since: req_ts(item, "availability_since")?,
            created_at: req_ts(item, "created_at")?,
            updated_at: get_ts(item, "updated_at").unwrap_or(req_ts(item, "created_at")?),
        },
        password_hash: req_s(item, "password_hash")?.to_owned(),
    })
}

/// The attribute changes that move a user to `availability` at `now`,
/// keeping the routing index (gsi3) in step.
pub fn availability_update(id: &UserId, availability: Availability, now: DateTime<Utc>) -> Update {
    let u = Update::new()
        .set("availability", availability.as_str())
        .set("availability_since", ts(now))
        .set("updated_at", ts(now));
    if availability == Availability::Available {
        u.set(GSI3.pk, keys::AVAILABLE_PK).set(GSI3.sk, keys::available_sk(now, id))
    } else {
        u.remove(GSI3.pk).remove(GSI3.sk)
    }
}

/// The user attribute naming the call a salesperson is on.
pub const CURRENT_CALL: &str = "current_call_id";

/// A user as stored, with the call they are on (when on one).
pub async fn get_with_call(store: &dyn Store, id: &UserId) -> Result<Option<(UserRecord, Option<CallId>)>, StoreError> {
    let Some(item) = store.get(&keys::user(id)).await? else {
        return Ok(None);
    };
    let rec = from_item(&item)?;
    let call = opt_parse(&item, CURRENT_CALL, CallId::parse)?;
    Ok(Some((rec, call)))
}

/// The move of a user to `availability` whatever they were doing, clearing
/// any current call (a session ending takes them off the routing index).
pub fn force_availability_op(id: &UserId, availability: Availability, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update {
        key: keys::user(id),
        update: availability_update(id, availability, now).remove(CURRENT_CALL),
        condition: Some(Condition::exists()),
    }
}

/// The move of an active user to `available` unless they are on a call
/// (their line just came up).
pub fn ready_unless_on_call_op(id: &UserId, now: DateTime<Utc>) -> WriteOp {
    let condition = Condition::Ne("availability".into(), Value::from(Availability::OnCall.as_str()))
        .and(Condition::Eq("active".into(), Value::Bool(true)));
    WriteOp::Update {
        key: keys::user(id),
        update: availability_update(id, Availability::Available, now),
        condition: Some(condition),
    }
}

/// The move of a user still in the wrap-up that began at `since` to
/// `to` (the end of wrap-up: ready again, or away when their line is gone).
pub fn end_wrap_up_op(id: &UserId, since: DateTime<Utc>, to: Availability, now: DateTime<Utc>) -> WriteOp {
    let condition = Condition::eq("availability", Availability::WrapUp.as_str())
        .and(Condition::Eq("availability_since".into(), ts(since)))
        .and(Condition::Exists("pk".into()));
    WriteOp::Update { key: keys::user(id), update: availability_update(id, to, now), condition: Some(condition) }
}

/// Errors creating a user.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a user and claims its email in one transaction, so two
/// registrations of one address can never both succeed.
pub async fn create(store: &dyn Store, rec: &UserRecord) -> Result<(), CreateUserError> {
    let claim = Item::with_key(&keys::email(rec.user.email.as_str())).with("user_id", rec.user.id.as_str());
    let ops = vec![
        WriteOp::Put { item: claim, condition: Some(Condition::not_exists()) },
        WriteOp::Put { item: to_item(rec), condition: Some(Condition::not_exists()) },
    ];
    match store.transact_write(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { failed }) if failed.iter().any(|f| f.index == 0) => {
            Err(CreateUserError::EmailTaken)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads a user by id.
pub async fn get(store: &dyn Store, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
    store.get(&keys::user(id)).await?.map(|i| from_item(&i)).transpose()
}

/// Reads a user by email (login).
pub async fn get_by_email(store: &dyn Store, email: &Email) -> Result<Option<UserRecord>, StoreError> {
    let Some(claim) = store.get(&keys::email(email.as_str())).await? else {
        return Ok(None);
    };
    let id = req_parse(&claim, "user_id", UserId::parse)?;
    get(store, &id).await
}

/// Available salespeople, longest idle first.
pub async fn available(store: &dyn Store, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
    let page = store.query(&Query::index(GSI3.name, keys::AVAILABLE_PK).limit(limit)).await?;
    page.items.iter().map(from_item).collect()
}

/// Every user (users are few: tens, not millions), oldest first.
pub async fn list_all(store: &dyn Store) -> Result<Vec<UserRecord>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(&Query::index(GSI1.name, keys::USERS_PK).limit(500).after(cursor)).await?;
        for item in &page.items {
            out.push(from_item(item)?);
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The condition "this user is available, and has been since `since`":
/// claiming with it means two racing claims can never both win.
pub fn is_available_since(since: DateTime<Utc>) -> Condition {
    Condition::eq("availability", Availability::Available.as_str())
        .and(Condition::Eq("availability_since".into(), ts(since)))
        .and(Condition::Eq("active".into(), Value::Bool(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> UserRecord {
        let now = Utc::now();
        UserRecord {
            user: User {
                id: UserId::new(),
                name: "Aziza".into(),
                email: Email::parse("aziza@example.com").unwrap(),
                phone: None,
                role: Role::Salesperson,
                active: true,
                availability: Availability::Available,
                availability_since: now,
                created_at: now,
                updated_at: now,
            },
            password_hash: "$argon2id$x".into(),
        }
    }

    #[test]
    fn round_trips_and_indexes_availability() {
        let mut rec = sample();
        // Millisecond precision is what the store keeps.
        let t = DateTime::from_timestamp_millis(rec.user.created_at.timestamp_millis()).unwrap();
        rec.user.created_at = t;
        rec.user.updated_at = t;
        rec.user.availability_since = t;
        let item = to_item(&rec);
        assert_eq!(item.s(GSI3.pk), Some(keys::AVAILABLE_PK));
        assert_eq!(from_item(&item).unwrap(), rec);
        rec.user.availability = Availability::Away;
        assert!(to_item(&rec).get(GSI3.pk).is_none());
    }
}
