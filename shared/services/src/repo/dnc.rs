//! The do-not-call list: one item per number, listed through gsi1.

use chrono::{DateTime, Utc};
use ibrat_domain::Phone;
use ibrat_ports::store::schema::{GSI1, TABLE};
use ibrat_ports::{Condition, Cursor, Item, Query, Store, StoreError, Update, WriteOp};

use super::codec::{get_ts, ts};
use super::keys;

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DncEntry {
    pub phone: String,
    pub reason: Option<String>,
    pub added_at: Option<DateTime<Utc>>,
}

/// The item for a number on the list.
pub fn to_item(phone: &Phone, reason: Option<&str>, now: DateTime<Utc>) -> Item {
    Item::with_key(&keys::dnc(phone.as_str()))
        .with("phone", phone.as_str())
        .with_opt("reason", reason)
        .with("added_at", ts(now))
        .with(GSI1.pk, keys::DNC_PK)
        .with(GSI1.sk, keys::created_sk(now, phone.as_str()))
}

/// The entry's write inside a transaction: created if absent, left as is
/// (original date) if present.
pub fn add_op(phone: &Phone, reason: &str, now: DateTime<Utc>) -> WriteOp {
    let item = to_item(phone, Some(reason), now);
    let mut update = Update::new();
    for (name, value) in item.0 {
        if name != TABLE.pk && name != TABLE.sk {
            update = update.set_if_absent(name, value);
        }
    }
    WriteOp::Update { key: keys::dnc(phone.as_str()), update, condition: None }
}

/// Takes the number off the list inside a transaction.
pub fn remove_op(phone: &Phone) -> WriteOp {
    WriteOp::Delete { key: keys::dnc(phone.as_str()), condition: None }
}

/// A check inside a transaction that the number is not on the list.
pub fn not_listed_check(phone: &Phone) -> WriteOp {
    WriteOp::Check { key: keys::dnc(phone.as_str()), condition: Condition::not_exists() }
}

/// The number of a list entry's item.
pub fn phone_of(item: &Item) -> Option<&str> {
    item.s("phone")
}

/// True when the number must not be called.
pub async fn contains(store: &dyn Store, phone: &Phone) -> Result<bool, StoreError> {
    Ok(store.get(&keys::dnc(phone.as_str())).await?.is_some())
}

/// A page of the list, newest first.
pub async fn list(
    store: &dyn Store,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<DncEntry>, Option<Cursor>), StoreError> {
    let page = store.query(&Query::index(GSI1.name, keys::DNC_PK).reverse().limit(limit).after(cursor)).await?;
    let entries = page
        .items
        .iter()
        .map(|i| DncEntry {
            phone: i.s("phone").unwrap_or_default().to_owned(),
            reason: i.s("reason").map(str::to_owned),
            added_at: get_ts(i, "added_at"),
        })
        .collect();
    Ok((entries, page.cursor))
}
