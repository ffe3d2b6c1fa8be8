//! Our [`Value`]s and [`Item`]s to DynamoDB's `AttributeValue`s and back.
//! Numbers travel as decimal strings; anything we never write (sets, non
//! integer numbers) comes back as [`StoreError::Corrupt`], never a panic.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use ibrat_ports::store::schema::{IndexDef, TABLE};
use ibrat_ports::{Item, Key, StoreError, Value};

/// An attribute map as the SDK takes and returns it.
pub(crate) type AttrMap = HashMap<String, AttributeValue>;

/// One value as DynamoDB stores it.
pub(crate) fn to_av(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::B(b) => AttributeValue::B(Blob::new(b.clone())),
        Value::L(l) => AttributeValue::L(l.iter().map(to_av).collect()),
        Value::M(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
    }
}

/// One stored value back; refuses what our model cannot hold.
pub(crate) fn from_av(av: &AttributeValue) -> Result<Value, StoreError> {
    Ok(match av {
        AttributeValue::S(s) => Value::S(s.clone()),
        AttributeValue::N(n) => Value::N(
            n.trim().parse().map_err(|_| StoreError::Corrupt(format!("number `{n}` is not a 64-bit integer")))?,
        ),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => Value::B(b.as_ref().to_vec()),
        AttributeValue::L(l) => Value::L(l.iter().map(from_av).collect::<Result<_, _>>()?),
        AttributeValue::M(m) => {
            Value::M(m.iter().map(|(k, v)| Ok((k.clone(), from_av(v)?))).collect::<Result<_, StoreError>>()?)
        }
        other => return Err(StoreError::Corrupt(format!("unsupported attribute type: {other:?}"))),
    })
}

/// A whole item as DynamoDB stores it.
pub(crate) fn to_attr_map(item: &Item) -> AttrMap {
    item.0.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()
}

/// A whole stored item back.
pub(crate) fn from_attr_map(map: &AttrMap) -> Result<Item, StoreError> {
    let mut out = BTreeMap::new();
    for (k, v) in map {
        out.insert(k.clone(), from_av(v)?);
    }
    Ok(Item(out))
}

/// The primary key as DynamoDB takes it.
pub(crate) fn key_map(key: &Key) -> AttrMap {
    HashMap::from([
        (TABLE.pk.to_owned(), AttributeValue::S(key.pk.clone())),
        (TABLE.sk.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// The key attributes naming an item's position in the table or in one
/// index (what DynamoDB calls `LastEvaluatedKey`), as plain strings.
pub(crate) fn position_of(item: &Item, index: Option<&IndexDef>) -> Option<BTreeMap<String, String>> {
    let mut names = vec![TABLE.pk, TABLE.sk];
    if let Some(index) = index {
        names.extend([index.pk, index.sk]);
    }
    names.into_iter().map(|n| Some((n.to_owned(), item.s(n)?.to_owned()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let nested: BTreeMap<String, Value> = [("a".to_owned(), Value::L(vec![Value::Null, Value::B(vec![])]))].into();
        let item = Item::new()
            .with("pk", "p")
            .with("sk", "s")
            .with("max", i64::MAX)
            .with("min", i64::MIN)
            .with("t", true)
            .with("e", "")
            .with("m", Value::M(nested));
        let map = to_attr_map(&item);
        assert_eq!(from_attr_map(&map).unwrap(), item);
        assert_eq!(map.get("pk"), Some(&AttributeValue::S("p".into())));
    }

    #[test]
    fn foreign_values_are_corrupt_not_panics() {
        assert!(matches!(from_av(&AttributeValue::N("1.5".into())), Err(StoreError::Corrupt(_))));
        assert!(matches!(from_av(&AttributeValue::N("1e400".into())), Err(StoreError::Corrupt(_))));
        assert!(matches!(from_av(&AttributeValue::Ss(vec!["a".into()])), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn positions_need_every_key() {
        let item = Item::with_key(&Key::new("p", "s")).with("gsi1pk", "g");
        assert!(position_of(&item, None).is_some());
        assert!(position_of(&item, TABLE.index("gsi1")).is_none());
    }
}
