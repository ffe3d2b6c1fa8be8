//! Users in the table: the user item (with its password hash, which never
//! leaves this module except to the password check) and the email claim.

use chrono::{DateTime, Utc};
use ibrat_domain::{Availability, CallId, Email, Phone, Role, User, UserId};
use ibrat_ports::store::schema::{GSI1, GSI3};
use ibrat_ports::{Condition, Item, Query, Store, StoreError, Update, Value, WriteOp};

use super::codec::{get_ts, opt_parse, req_enum, req_parse, req_s, req_ts, ts};
use super::keys;
use super::tx::Transaction;

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

/// What a session's rights hang on: the user's role and active flag, and
/// the instant (epoch seconds) before which their sessions no longer count
/// (set when the password changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub active: bool,
    pub tokens_after: i64,
}

fn standing_of(item: &Item) -> Result<(UserId, Standing), StoreError> {
    let id = req_parse(item, "id", UserId::parse)?;
    let standing = Standing {
        role: req_enum(item, "role", Role::parse)?,
        active: item.bool("active").unwrap_or(false),
        tokens_after: item.n(TOKENS_AFTER).unwrap_or(0),
    };
    Ok((id, standing))
}

/// The standing of one user (None: no such user).
pub async fn standing(store: &dyn Store, id: &UserId) -> Result<Option<Standing>, StoreError> {
    store.get(&keys::user(id)).await?.map(|i| standing_of(&i).map(|(_, s)| s)).transpose()
}

/// The standing of several users at once (missing users are left out).
pub async fn standings(store: &dyn Store, ids: &[UserId]) -> Result<Vec<(UserId, Standing)>, StoreError> {
    let keys: Vec<_> = ids.iter().map(keys::user).collect();
    store.batch_get(&keys).await?.iter().map(standing_of).collect()
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

/// The attribute holding the instant (epoch seconds) before which the
/// user's tokens no longer count; set when the password changes.
const TOKENS_AFTER: &str = "tokens_after";

/// Reads a user with the instant before which their tokens no longer count
/// (epoch seconds, 0 when never set).
pub async fn get_with_tokens_after(store: &dyn Store, id: &UserId) -> Result<Option<(UserRecord, i64)>, StoreError> {
    let Some(item) = store.get(&keys::user(id)).await? else {
        return Ok(None);
    };
    let rec = from_item(&item)?;
    Ok(Some((rec, item.n(TOKENS_AFTER).unwrap_or(0))))
}

/// Changes to a user item, named for what they mean; `updated_at` is always
/// set.
#[derive(Debug, Clone)]
pub struct UserChanges(Update);

impl UserChanges {
    pub fn new(now: DateTime<Utc>) -> Self {
        UserChanges(Update::new().set("updated_at", ts(now)))
    }

    pub fn name(self, name: &str) -> Self {
        UserChanges(self.0.set("name", name))
    }

    /// Sets the phone, or removes it with None.
    pub fn phone(self, phone: Option<&Phone>) -> Self {
        UserChanges(self.0.set_opt("phone", phone.map(|p| p.as_str().to_owned())))
    }

    /// A new role, with the listing's sort key following it.
    pub fn role(self, id: &UserId, role: Role, created_at: DateTime<Utc>) -> Self {
        UserChanges(self.0.set("role", role.as_str()).set(GSI1.sk, keys::users_sk(role, created_at, id)))
    }

    pub fn active(self, active: bool) -> Self {
        UserChanges(self.0.set("active", active))
    }

    /// Offline from `now`, out of call routing.
    pub fn offline(mut self, id: &UserId, now: DateTime<Utc>) -> Self {
        let mut moved = availability_update(id, Availability::Offline, now);
        self.0.set.retain(|(name, _)| name != "updated_at");
        self.0.set.append(&mut moved.set);
        self.0.remove.append(&mut moved.remove);
        self
    }

    /// A new password hash; every token issued before `now` stops counting.
    pub fn password(self, hash: String, now: DateTime<Utc>) -> Self {
        UserChanges(self.0.set("password_hash", hash).set(TOKENS_AFTER, now.timestamp()))
    }
}

/// Applies `changes` to an existing user; Ok(None) when there is none.
pub async fn update(store: &dyn Store, id: &UserId, changes: UserChanges) -> Result<Option<UserRecord>, StoreError> {
    match store.update(&keys::user(id), changes.0, Some(Condition::exists())).await {
        Ok(item) => from_item(&item).map(Some),
        Err(StoreError::ConditionFailed { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `changes` as a transaction write, only if the user's availability, role
/// and active flag are still as read in `read`.
pub fn update_if_unchanged_op(read: &User, changes: UserChanges) -> WriteOp {
    let condition = Condition::eq("availability", read.availability.as_str())
        .and(Condition::eq("role", read.role.as_str()))
        .and(Condition::Eq("active".into(), Value::Bool(read.active)));
    WriteOp::Update { key: keys::user(&read.id), update: changes.0, condition: Some(condition) }
}

/// A transaction check that `admin` is still an active admin.
pub fn still_admin_check(admin: &UserId) -> WriteOp {
    WriteOp::Check {
        key: keys::user(admin),
        condition: Condition::eq("role", Role::Admin.as_str()).and(Condition::Eq("active".into(), Value::Bool(true))),
    }
}

/// What [`set_availability`] did.
#[derive(Debug)]
pub enum AvailabilityChange {
    /// Moved; the user as stored now.
    Changed(Box<UserRecord>),
    /// Their availability changed since it was read.
    Moved,
    /// Ready was asked and their session's line is not up.
    NoLine,
}

/// Moves an active user to `to` only if their availability is still the
/// one read in `read` (same state, same since); a move to available also
/// needs their session's line up (checked in the same transaction).
pub async fn set_availability(
    store: &dyn Store,
    read: &User,
    to: Availability,
    now: DateTime<Utc>,
) -> Result<AvailabilityChange, StoreError> {
    let condition = Condition::eq("availability", read.availability.as_str())
        .and(Condition::Eq("availability_since".into(), ts(read.availability_since)))
        .and(Condition::Eq("active".into(), Value::Bool(true)));
    let mut tx = Transaction::new();
    tx.push(WriteOp::Update {
        key: keys::user(&read.id),
        update: availability_update(&read.id, to, now),
        condition: Some(condition),
    });
    let line = (to == Availability::Available).then(|| tx.push(super::sessions::line_is_up(&read.id)));
    match tx.commit(store).await {
        Ok(()) => {}
        Err(e) if line.is_some_and(|l| l.failed_in(&e)) => return Ok(AvailabilityChange::NoLine),
        Err(e) if e.is_condition_failed() => return Ok(AvailabilityChange::Moved),
        Err(e) => return Err(e),
    }
    match get(store, &read.id).await? {
        Some(rec) => Ok(AvailabilityChange::Changed(Box::new(rec))),
        None => Ok(AvailabilityChange::Moved),
    }
}

/// An active user in wrap-up whose line is up becomes available at once;
/// Ok(false) when they were not in wrap-up (any more) or their line is down.
pub async fn end_wrap_up_now(store: &dyn Store, user: &UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let condition = Condition::eq("availability", Availability::WrapUp.as_str())
        .and(Condition::Eq("active".into(), Value::Bool(true)));
    let ops = vec![
        WriteOp::Update {
            key: keys::user(user),
            update: availability_update(user, Availability::Available, now),
            condition: Some(condition),
        },
        super::sessions::line_is_up(user),
    ];
    match store.transact_write(ops).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The condition "this user is on `call`" (`on_call` with
/// `current_call_id = call`).
pub fn is_on_call_with(call: &CallId) -> Condition {
    Condition::eq("availability", Availability::OnCall.as_str()).and(Condition::eq(CURRENT_CALL, call.as_str()))
}

/// True when the user is on `call` now (a read; writes use the condition).
pub async fn on_call_with(store: &dyn Store, user: &UserId, call: &CallId) -> Result<bool, StoreError> {
    let item = store.get(&keys::user(user)).await?;
    Ok(is_on_call_with(call).eval(item.as_ref()))
}

/// The claim of an available salesperson for `call`: on_call with the call
/// named, only if they are still available since `since` (two racing
/// claims can never both win).
pub fn claim_for_call_op(user: &UserId, call: &CallId, since: DateTime<Utc>, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update {
        key: keys::user(user),
        update: availability_update(user, Availability::OnCall, now)
            .set(CURRENT_CALL, call.as_str())
            .set("current_call_at", ts(now)),
        condition: Some(is_available_since(since)),
    }
}

/// Moves a salesperson still on `call` to `to` and clears the call; the
/// condition fails when they are not on it any more.
pub fn release_op(user: &UserId, call: &CallId, to: Availability, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update {
        key: keys::user(user),
        update: availability_update(user, to, now).remove(CURRENT_CALL),
        condition: Some(is_on_call_with(call)),
    }
}

/// A salesperson still on `call` goes to wrap-up ([`release_op`]).
pub fn wrap_up_op(user: &UserId, call: &CallId, now: DateTime<Utc>) -> WriteOp {
    release_op(user, call, Availability::WrapUp, now)
}

/// Salespeople in the `AVAILABLE` routing index (tens, not millions).
pub async fn count_available_salespeople(store: &dyn Store) -> Result<u32, StoreError> {
    let mut count = 0u32;
    let mut cursor = None;
    loop {
        let page = store.query(&Query::index(GSI3.name, keys::AVAILABLE_PK).limit(500).after(cursor)).await?;
        count += page.items.iter().filter(|i| i.s("role") == Some(Role::Salesperson.as_str())).count() as u32;
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(count),
        }
    }
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
