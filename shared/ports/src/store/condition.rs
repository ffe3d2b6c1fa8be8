//! Structured conditions, and their evaluation for adapters that evaluate
//! them in process (the DynamoDB adapter translates them to expressions).

use std::cmp::Ordering;

use super::item::{Item, Value};
use super::Update;

/// A condition on one item, evaluated atomically with the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The attribute is present (`Exists("pk")`: the item exists).
    Exists(String),
    /// The attribute is absent (`NotExists("pk")`: the item does not exist).
    NotExists(String),
    Eq(String, Value),
    Ne(String, Value),
    Lt(String, Value),
    Le(String, Value),
    Gt(String, Value),
    Ge(String, Value),
    /// The attribute equals one of the values.
    In(String, Vec<Value>),
    /// The string attribute starts with the prefix.
    BeginsWith(String, String),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// The item exists.
    pub fn exists() -> Self {
        Condition::Exists(super::schema::TABLE.pk.to_owned())
    }

    /// The item does not exist (or has expired).
    pub fn not_exists() -> Self {
        Condition::NotExists(super::schema::TABLE.pk.to_owned())
    }

    /// Optimistic concurrency: the item is at `version`. An absent version
    /// and a stored 0 both count as 0 (so an item created at version 0 can
    /// still be updated), and so does an absent item. The one rule every
    /// versioned write uses.
    pub fn version(version: u64) -> Self {
        if version == 0 {
            Condition::Or(vec![Condition::NotExists("version".into()), Condition::Eq("version".into(), Value::N(0))])
        } else {
            Condition::Eq("version".into(), Value::N(version as i64))
        }
    }

    /// `attribute = value`.
    pub fn eq(name: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Eq(name.into(), value.into())
    }

    /// Both conditions.
    pub fn and(self, other: Condition) -> Self {
        match self {
            Condition::And(mut v) => {
                v.push(other);
                Condition::And(v)
            }
            c => Condition::And(vec![c, other]),
        }
    }

    /// Evaluates against the current item (None when absent or expired).
    pub fn eval(&self, item: Option<&Item>) -> bool {
        let attr = |name: &str| item.and_then(|i| i.get(name));
        let cmp = |name: &str, v: &Value, want: &[Ordering]| {
            attr(name).and_then(|a| a.compare(v)).is_some_and(|o| want.contains(&o))
        };
        match self {
            Condition::Exists(n) => attr(n).is_some(),
            Condition::NotExists(n) => attr(n).is_none(),
            Condition::Eq(n, v) => attr(n) == Some(v),
            Condition::Ne(n, v) => attr(n) != Some(v),
            Condition::Lt(n, v) => cmp(n, v, &[Ordering::Less]),
            Condition::Le(n, v) => cmp(n, v, &[Ordering::Less, Ordering::Equal]),
            Condition::Gt(n, v) => cmp(n, v, &[Ordering::Greater]),
            Condition::Ge(n, v) => cmp(n, v, &[Ordering::Greater, Ordering::Equal]),
            Condition::In(n, vs) => attr(n).is_some_and(|a| vs.contains(a)),
            Condition::BeginsWith(n, p) => attr(n).and_then(Value::as_s).is_some_and(|s| s.starts_with(p.as_str())),
            Condition::And(cs) => cs.iter().all(|c| c.eval(item)),
            Condition::Or(cs) => cs.iter().any(|c| c.eval(item)),
            Condition::Not(c) => !c.eval(item),
        }
    }
}

/// A restriction on the sort key of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkCondition {
    Any,
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

impl SkCondition {
    /// True when the sort key satisfies the restriction (byte order).
    pub fn matches(&self, sk: &str) -> bool {
        let sk = sk.as_bytes();
        match self {
            SkCondition::Any => true,
            SkCondition::Eq(v) => sk == v.as_bytes(),
            SkCondition::BeginsWith(p) => sk.starts_with(p.as_bytes()),
            SkCondition::Between(a, b) => sk >= a.as_bytes() && sk <= b.as_bytes(),
            SkCondition::Lt(v) => sk < v.as_bytes(),
            SkCondition::Le(v) => sk <= v.as_bytes(),
            SkCondition::Gt(v) => sk > v.as_bytes(),
            SkCondition::Ge(v) => sk >= v.as_bytes(),
        }
    }
}

/// Why an update could not be applied to an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// `ADD` met an attribute holding something other than a number.
    #[error("cannot add to non-numeric attribute `{0}`")]
    NotANumber(String),
}

impl Update {
    /// Applies the update to an item (or to a new one holding just `key`
    /// attributes when absent). Adding to a non-number is refused.
    pub fn apply(&self, mut item: Item) -> Result<Item, UpdateError> {
        for (name, value) in &self.set {
            item.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.set_if_absent {
            if item.get(name).is_none() {
                item.insert(name.clone(), value.clone());
            }
        }
        for (name, delta) in &self.add {
            let current = match item.get(name) {
                None => 0,
                Some(Value::N(n)) => *n,
                Some(_) => return Err(UpdateError::NotANumber(name.clone())),
            };
            item.insert(name.clone(), Value::N(current + delta));
        }
        for name in &self.remove {
            item.remove(name);
        }
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_evaluate_like_dynamodb() {
        let item = Item::new().with("pk", "A").with("n", 5i64).with("s", "abc");
        let i = Some(&item);
        assert!(Condition::exists().eval(i));
        assert!(!Condition::exists().eval(None));
        assert!(Condition::not_exists().eval(None));
        assert!(Condition::Lt("n".into(), Value::N(6)).eval(i));
        assert!(!Condition::Lt("n".into(), Value::S("6".into())).eval(i));
        assert!(Condition::BeginsWith("s".into(), "ab".into()).eval(i));
        assert!(Condition::Ne("missing".into(), Value::N(1)).eval(i));
        assert!(Condition::version(0).eval(i));
        assert!(!Condition::version(1).eval(i));
        let v0 = Item::new().with("pk", "A").with("version", 0i64);
        assert!(Condition::version(0).eval(Some(&v0)));
        assert!(Condition::version(0).eval(None));
        assert!(!Condition::version(0).eval(Some(&Item::new().with("version", 1i64))));
        assert!(Condition::In("n".into(), vec![Value::N(1), Value::N(5)]).eval(i));
        assert!(Condition::Not(Box::new(Condition::eq("s", "x"))).eval(i));
    }

    #[test]
    fn updates_apply_counters_and_removals() {
        let u = Update::new().add("n", 2).set("a", "x").remove("s").set_if_absent("a", "y").set_if_absent("b", "z");
        let out = u.apply(Item::new().with("n", 5i64).with("s", "q")).unwrap();
        assert_eq!(out.n("n"), Some(7));
        assert_eq!(out.s("a"), Some("x"));
        assert_eq!(out.s("b"), Some("z"));
        assert!(out.get("s").is_none());
        assert!(Update::new().add("s", 1).apply(Item::new().with("s", "x")).is_err());
    }
}
