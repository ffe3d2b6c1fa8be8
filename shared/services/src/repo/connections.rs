//! The connection registry: one item per live WebSocket connection, found by
//! role (gsi1) and by user (gsi3), forgotten after two hours by TTL.

use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{Role, UserId};
use ibrat_ports::store::schema::{GSI1, GSI3, TABLE};
use ibrat_ports::{Condition, Item, Query, Store, StoreError, Update};

use super::codec::{get_ts, req_enum, req_parse, req_s, ts};
use super::keys;

/// How long a connection is remembered without being refreshed.
pub const CONNECTION_TTL: Duration = Duration::hours(2);

/// A live client connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: String,
    pub user_id: UserId,
    pub role: Role,
    pub connected_at: DateTime<Utc>,
    /// Last message or heartbeat from the client.
    pub last_seen: DateTime<Utc>,
}

fn to_item(c: &Connection) -> Item {
    Item::with_key(&keys::connection(&c.id))
        .with("connection_id", c.id.as_str())
        .with("user_id", c.user_id.as_str())
        .with("role", c.role.as_str())
        .with("connected_at", ts(c.connected_at))
        .with("last_seen", ts(c.last_seen))
        .with(TABLE.ttl, (c.last_seen + CONNECTION_TTL).timestamp())
        .with(GSI1.pk, keys::connections_by_role_pk(c.role))
        .with(GSI1.sk, c.id.as_str())
        .with(GSI3.pk, keys::user_connections_pk(&c.user_id))
        .with(GSI3.sk, c.id.as_str())
}

fn from_item(item: &Item) -> Result<Connection, StoreError> {
    let connected_at = get_ts(item, "connected_at").unwrap_or_default();
    Ok(Connection {
        id: req_s(item, "connection_id")?.to_owned(),
        user_id: req_parse(item, "user_id", UserId::parse)?,
        role: req_enum(item, "role", Role::parse)?,
        connected_at,
        last_seen: get_ts(item, "last_seen").unwrap_or(connected_at),
    })
}

/// Records a new connection.
pub async fn register(store: &dyn Store, c: &Connection) -> Result<(), StoreError> {
    store.put(to_item(c), None).await
}

/// Forgets a connection; returns it when it was known.
pub async fn remove(store: &dyn Store, id: &str) -> Result<Option<Connection>, StoreError> {
    store.delete(&keys::connection(id), None).await?.map(|i| from_item(&i)).transpose()
}

/// Forgets a connection only if it was opened before `cutoff`; returns
/// whether it was forgotten. API Gateway answers 410 to posts until the
/// `$connect` handshake completes, and such a post must not forget a
/// connection that is about to live.
pub async fn remove_if_opened_before(store: &dyn Store, id: &str, cutoff: DateTime<Utc>) -> Result<bool, StoreError> {
    let settled = Condition::Lt("connected_at".into(), ts(cutoff));
    match store.delete(&keys::connection(id), Some(settled)).await {
        Ok(removed) => Ok(removed.is_some()),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads one connection.
pub async fn get(store: &dyn Store, id: &str) -> Result<Option<Connection>, StoreError> {
    store.get(&keys::connection(id)).await?.map(|i| from_item(&i)).transpose()
}

/// Marks the connection alive now and pushes its expiry out. Returns None
/// when the connection is unknown (never registered, or already gone).
pub async fn touch(store: &dyn Store, id: &str, now: DateTime<Utc>) -> Result<Option<Connection>, StoreError> {
    let update = Update::new().set("last_seen", ts(now)).set(TABLE.ttl, (now + CONNECTION_TTL).timestamp());
    match store.update(&keys::connection(id), update, Some(Condition::exists())).await {
        Ok(item) => from_item(&item).map(Some),
        Err(StoreError::ConditionFailed { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn query_all(store: &dyn Store, q: Query) -> Result<Vec<Connection>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(&q.clone().limit(1000).after(cursor)).await?;
        for item in &page.items {
            out.push(from_item(item)?);
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Every connection of one role.
pub async fn by_role(store: &dyn Store, role: Role) -> Result<Vec<Connection>, StoreError> {
    query_all(store, Query::index(GSI1.name, keys::connections_by_role_pk(role))).await
}

/// Every connection of one user.
pub async fn by_user(store: &dyn Store, user: &UserId) -> Result<Vec<Connection>, StoreError> {
    query_all(store, Query::index(GSI3.name, keys::user_connections_pk(user))).await
}
