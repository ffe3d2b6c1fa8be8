//! Refuses, before any request, what DynamoDB (and the local store) would
//! refuse, so a bad request is `Invalid` the same way on both adapters and
//! never half-applied.

use ibrat_ports::store::schema::TABLE;
use ibrat_ports::{Item, Key, StoreError, Value};

/// DynamoDB's longest partition key value, in bytes.
const MAX_PK_BYTES: usize = 2048;
/// DynamoDB's longest sort key value (and index key value), in bytes.
const MAX_SK_BYTES: usize = 1024;

/// Keys must be non-empty strings within DynamoDB's lengths.
pub(crate) fn validate_key(key: &Key) -> Result<(), StoreError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("key attributes must be non-empty strings".into()));
    }
    if key.pk.len() > MAX_PK_BYTES || key.sk.len() > MAX_SK_BYTES {
        return Err(StoreError::Invalid("key attribute too long".into()));
    }
    Ok(())
}

/// True when `name` is a key attribute of some index.
pub(crate) fn is_index_key(name: &str) -> bool {
    TABLE.indexes.iter().any(|i| i.pk == name || i.sk == name)
}

/// An index key attribute must be a non-empty string DynamoDB can index.
pub(crate) fn validate_index_value(name: &str, value: &Value) -> Result<(), StoreError> {
    match value {
        Value::S(s) if !s.is_empty() && s.len() <= MAX_SK_BYTES => Ok(()),
        _ => Err(StoreError::Invalid(format!(
            "index key attribute `{name}` must be a non-empty string of at most {MAX_SK_BYTES} bytes"
        ))),
    }
}

/// The item's key, after checking its key and index-key attributes.
pub(crate) fn validate_item(item: &Item) -> Result<Key, StoreError> {
    let key = item
        .key()
        .ok_or_else(|| StoreError::Invalid(format!("item needs string `{}` and `{}`", TABLE.pk, TABLE.sk)))?;
    validate_key(&key)?;
    for (name, value) in &item.0 {
        if is_index_key(name) {
            validate_index_value(name, value)?;
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_dynamodb_refuses() {
        assert!(validate_item(&Item::new().with("pk", "a")).is_err());
        assert!(validate_item(&Item::new().with("pk", 1i64).with("sk", "a")).is_err());
        assert!(validate_item(&Item::with_key(&Key::new("", "a"))).is_err());
        assert!(validate_item(&Item::with_key(&Key::new("a", "b")).with("gsi2sk", "")).is_err());
        assert!(validate_item(&Item::with_key(&Key::new("a", "b")).with("gsi2sk", 3i64)).is_err());
        assert!(validate_key(&Key::new("a".repeat(2049), "b")).is_err());
        assert_eq!(
            validate_item(&Item::with_key(&Key::new("a", "b")).with("gsi3pk", "x")).ok(),
            Some(Key::new("a", "b"))
        );
    }
}
