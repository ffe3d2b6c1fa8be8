//! Items, attribute values and keys.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::schema::TABLE;

/// An attribute value. Numbers are 64-bit integers: every number we store is
/// a count, a duration or an epoch time, and integers compare exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    S(String),
    N(i64),
    Bool(bool),
    Null,
    B(Vec<u8>),
    L(Vec<Value>),
    M(BTreeMap<String, Value>),
}

impl Value {
    /// The string, if this is one.
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_n(&self) -> Option<i64> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Orders two values of the same scalar type (DynamoDB compares only
    /// strings with strings, numbers with numbers, binaries with binaries).
    pub fn compare(&self, other: &Value) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
            (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::S(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::S(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::S(s.clone())
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::N(n)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::N(n as i64)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::N(n as i64)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::M(m)
    }
}
impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::L(l)
    }
}

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    /// A key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: sk.into() }
    }
}

/// One item: attribute names to values.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Item(pub BTreeMap<String, Value>);

impl Item {
    /// An empty item.
    pub fn new() -> Self {
        Item(BTreeMap::new())
    }

    /// An item holding just its key.
    pub fn with_key(key: &Key) -> Self {
        Item::new().with(TABLE.pk, key.pk.as_str()).with(TABLE.sk, key.sk.as_str())
    }

    /// Adds an attribute (builder style).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    /// Adds an attribute when `value` is Some.
    pub fn with_opt<V: Into<Value>>(mut self, name: impl Into<String>, value: Option<V>) -> Self {
        if let Some(v) = value {
            self.0.insert(name.into(), v.into());
        }
        self
    }

    /// Sets an attribute.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }

    /// The raw value of an attribute.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string attribute.
    pub fn s(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_s)
    }

    /// A number attribute.
    pub fn n(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_n)
    }

    /// A boolean attribute.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    /// Removes an attribute.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// The item's primary key, when both key attributes are strings.
    pub fn key(&self) -> Option<Key> {
        Some(Key::new(self.s(TABLE.pk)?, self.s(TABLE.sk)?))
    }

    /// True when the item's TTL has passed at `now_secs` (epoch seconds).
    pub fn is_expired(&self, now_secs: i64) -> bool {
        self.n(TABLE.ttl).is_some_and(|exp| exp <= now_secs)
    }
}
