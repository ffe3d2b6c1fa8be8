//! Small conversions between domain values and item attributes.

use chrono::{DateTime, TimeZone, Utc};
use ibrat_ports::{Item, StoreError, Value};

/// An instant as epoch milliseconds.
pub fn ts(t: DateTime<Utc>) -> Value {
    Value::N(t.timestamp_millis())
}

/// Reads an instant stored as epoch milliseconds.
pub fn get_ts(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    item.n(name).and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// Reads a required instant.
pub fn req_ts(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    get_ts(item, name).ok_or_else(|| missing(item, name))
}

/// Reads a required string.
pub fn req_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.s(name).ok_or_else(|| missing(item, name))
}

/// Reads a required number.
pub fn req_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    item.n(name).ok_or_else(|| missing(item, name))
}

/// Parses a required attribute with `parse`, reporting corruption clearly.
pub fn req_parse<T, E: std::fmt::Display>(
    item: &Item,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw = req_s(item, name)?;
    parse(raw).map_err(|e| StoreError::Corrupt(format!("{}: attribute `{name}`: {e}", describe(item))))
}

/// Parses an optional attribute with `parse`.
pub fn opt_parse<T, E: std::fmt::Display>(
    item: &Item,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    match item.s(name) {
        None => Ok(None),
        Some(raw) => parse(raw)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{}: attribute `{name}`: {e}", describe(item)))),
    }
}

/// An enum stored by wire name.
pub fn req_enum<T>(item: &Item, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, StoreError> {
    let raw = req_s(item, name)?;
    parse(raw).ok_or_else(|| StoreError::Corrupt(format!("{}: unknown value `{raw}` in `{name}`", describe(item))))
}

fn missing(item: &Item, name: &str) -> StoreError {
    StoreError::Corrupt(format!("{}: missing attribute `{name}`", describe(item)))
}

fn describe(item: &Item) -> String {
    match item.key() {
        Some(k) => format!("item {}/{}", k.pk, k.sk),
        None => "item without key".into(),
    }
}
