//! Condition expressions: our [`Condition`] tree rendered as DynamoDB
//! expression text with `#name` / `:value` placeholders, folded so that
//! constant parts (empty `And`/`Or`/`In`, comparisons no value can satisfy)
//! disappear, and guarded so that expired items look absent.
//!
//! Comparisons carry an `attribute_type` guard: DynamoDB already answers
//! false across types, and the guard keeps emulators that would compare
//! numbers with strings (or booleans with numbers) honest.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use ibrat_ports::store::schema::TABLE;
use ibrat_ports::{Condition, Value};

use super::convert::{to_av, AttrMap};

/// The placeholders of one request's expressions.
#[derive(Debug, Default)]
pub(crate) struct Placeholders {
    names: HashMap<String, String>,
    values: AttrMap,
    types: HashMap<&'static str, String>,
}

impl Placeholders {
    /// The placeholder for an attribute name (one per distinct name).
    pub fn name(&mut self, name: &str) -> String {
        if let Some(p) = self.names.iter().find_map(|(p, n)| (n == name).then(|| p.clone())) {
            return p;
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), name.to_owned());
        p
    }

    /// A fresh placeholder for a value.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), value);
        p
    }

    /// The placeholder for an `attribute_type` operand (`S`, `N`, ...).
    fn type_name(&mut self, t: &'static str) -> String {
        if let Some(p) = self.types.get(t) {
            return p.clone();
        }
        let p = self.value(AttributeValue::S(t.to_owned()));
        self.types.insert(t, p.clone());
        p
    }

    /// The name and value maps, `None` when empty (DynamoDB refuses empty maps).
    pub fn into_maps(self) -> (Option<HashMap<String, String>>, Option<AttrMap>) {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (names, values)
    }
}

/// One comparison or function call. Placeholders are only allocated when
/// rendering, so parts folded away leave no unused placeholder behind
/// (DynamoDB refuses those).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Atom {
    Exists(String),
    NotExists(String),
    /// `attribute_type(name, T)`.
    Type(String, &'static str),
    /// `name OP value`.
    Cmp(String, &'static str, AttributeValue),
    BeginsWith(String, String),
}

impl Atom {
    fn text(&self, ph: &mut Placeholders) -> String {
        match self {
            Atom::Exists(name) => format!("attribute_exists({})", ph.name(name)),
            Atom::NotExists(name) => format!("attribute_not_exists({})", ph.name(name)),
            Atom::Type(name, t) => {
                let n = ph.name(name);
                format!("attribute_type({n}, {})", ph.type_name(t))
            }
            Atom::Cmp(name, op, value) => {
                let n = ph.name(name);
                format!("{n} {op} {}", ph.value(value.clone()))
            }
            Atom::BeginsWith(name, prefix) => {
                let n = ph.name(name);
                format!("begins_with({n}, {})", ph.value(AttributeValue::S(prefix.clone())))
            }
        }
    }
}

/// A boolean expression, folded as it is built.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Const(bool),
    Atom(Atom),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    /// All of `parts`; true when empty.
    pub fn all(parts: Vec<Expr>) -> Expr {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Expr::Const(true) => {}
                Expr::Const(false) => return Expr::Const(false),
                Expr::And(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Expr::Const(true),
            1 => out.pop().unwrap_or(Expr::Const(true)),
            _ => Expr::And(out),
        }
    }

    /// Any of `parts`; false when empty.
    pub fn any(parts: Vec<Expr>) -> Expr {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Expr::Const(false) => {}
                Expr::Const(true) => return Expr::Const(true),
                Expr::Or(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Expr::Const(false),
            1 => out.pop().unwrap_or(Expr::Const(false)),
            _ => Expr::Or(out),
        }
    }

    /// The negation.
    pub fn negate(self) -> Expr {
        match self {
            Expr::Const(b) => Expr::Const(!b),
            Expr::Not(inner) => *inner,
            other => Expr::Not(Box::new(other)),
        }
    }

    /// The expression text, or `None` when it always holds (no condition).
    pub fn render(&self, ph: &mut Placeholders) -> Option<String> {
        match self {
            Expr::Const(true) => None,
            other => Some(other.text(ph)),
        }
    }

    /// The expression text, even when it always holds (for requests that
    /// require a condition). Parentheses wrap every `AND`, `OR` and `NOT`
    /// and nothing else, so none is ever doubled (DynamoDB refuses that).
    pub fn text(&self, ph: &mut Placeholders) -> String {
        let join = |parts: &[Expr], op: &str, ph: &mut Placeholders| {
            let texts: Vec<String> = parts.iter().map(|p| p.text(ph)).collect();
            format!("({})", texts.join(op))
        };
        match self {
            Expr::Atom(atom) => atom.text(ph),
            Expr::And(parts) => join(parts, " AND ", ph),
            Expr::Or(parts) => join(parts, " OR ", ph),
            Expr::Not(inner) => match &**inner {
                Expr::Atom(atom) => format!("(NOT ({}))", atom.text(ph)),
                other => format!("(NOT {})", other.text(ph)),
            },
            Expr::Const(b) => {
                // A key attribute is either there or not.
                let pk = ph.name(TABLE.pk);
                let op = if *b { "OR" } else { "AND" };
                format!("(attribute_exists({pk}) {op} attribute_not_exists({pk}))")
            }
        }
    }
}

/// The `attribute_type` operand for a comparable scalar, if it is one.
fn scalar_type(value: &Value) -> Option<&'static str> {
    match value {
        Value::S(_) => Some("S"),
        Value::N(_) => Some("N"),
        Value::B(_) => Some("B"),
        _ => None,
    }
}

/// `name` has type `t` and `name OP value`.
fn typed_cmp(name: &str, t: &'static str, op: &'static str, value: AttributeValue) -> Expr {
    Expr::all(vec![Expr::Atom(Atom::Type(name.to_owned(), t)), Expr::Atom(Atom::Cmp(name.to_owned(), op, value))])
}

/// `name = value`, exactly as [`Condition::eval`] means it: a missing
/// attribute equals nothing, not even `Null`.
fn equals(name: &str, value: &Value) -> Expr {
    match value {
        Value::Null => Expr::Atom(Atom::Type(name.to_owned(), "NULL")),
        Value::N(_) => typed_cmp(name, "N", "=", to_av(value)),
        Value::Bool(_) => typed_cmp(name, "BOOL", "=", to_av(value)),
        other => Expr::Atom(Atom::Cmp(name.to_owned(), "=", to_av(other))),
    }
}

/// An ordering comparison; false for values no attribute can be ordered against.
fn compare(name: &str, op: &'static str, value: &Value) -> Expr {
    match scalar_type(value) {
        Some(t) => typed_cmp(name, t, op, to_av(value)),
        None => Expr::Const(false),
    }
}

/// The condition as an expression over the stored item.
pub(crate) fn condition(c: &Condition) -> Expr {
    match c {
        Condition::Exists(name) => Expr::Atom(Atom::Exists(name.clone())),
        Condition::NotExists(name) => Expr::Atom(Atom::NotExists(name.clone())),
        Condition::Eq(name, v) => equals(name, v),
        Condition::Ne(name, v) => equals(name, v).negate(),
        Condition::Lt(name, v) => compare(name, "<", v),
        Condition::Le(name, v) => compare(name, "<=", v),
        Condition::Gt(name, v) => compare(name, ">", v),
        Condition::Ge(name, v) => compare(name, ">=", v),
        Condition::In(name, vs) => Expr::any(vs.iter().map(|v| equals(name, v)).collect()),
        Condition::BeginsWith(name, prefix) if prefix.is_empty() => Expr::Atom(Atom::Type(name.clone(), "S")),
        Condition::BeginsWith(name, prefix) => Expr::Atom(Atom::BeginsWith(name.clone(), prefix.clone())),
        Condition::And(cs) => Expr::all(cs.iter().map(condition).collect()),
        Condition::Or(cs) => Expr::any(cs.iter().map(condition).collect()),
        Condition::Not(c) => condition(c).negate(),
    }
}

/// The stored item has expired at `now` (epoch seconds): its TTL attribute
/// is a number not after `now`, as [`ibrat_ports::Item::is_expired`] says.
pub(crate) fn expired(now: i64) -> Expr {
    typed_cmp(TABLE.ttl, "N", "<=", AttributeValue::N(now.to_string()))
}

/// The condition evaluated against the visible item: an expired item is
/// absent, so on one the condition holds exactly when it holds on no item.
pub(crate) fn on_visible(c: &Condition, now: i64) -> Expr {
    if c.eval(None) {
        Expr::any(vec![condition(c), expired(now)])
    } else {
        Expr::all(vec![condition(c), expired(now).negate()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(c: &Condition) -> Option<String> {
        let mut ph = Placeholders::default();
        condition(c).render(&mut ph)
    }

    #[test]
    fn constants_fold_away() {
        assert_eq!(render(&Condition::And(vec![])), None);
        assert_eq!(render(&Condition::Or(vec![Condition::In("a".into(), vec![]), Condition::And(vec![])])), None);
        let never = Condition::Lt("a".into(), Value::Bool(true)).and(Condition::eq("b", "x"));
        let mut ph = Placeholders::default();
        let text = condition(&never).text(&mut ph);
        assert_eq!(text, "(attribute_exists(#n0) AND attribute_not_exists(#n0))");
        assert_eq!(ph.into_maps().1, None, "folded parts leave no placeholder");
        assert_eq!(
            render(&Condition::Not(Box::new(Condition::Not(Box::new(Condition::exists()))))).unwrap(),
            "attribute_exists(#n0)"
        );
    }

    #[test]
    fn placeholders_are_shared_per_name() {
        let mut ph = Placeholders::default();
        let c = Condition::eq("a", "x").and(Condition::Ne("a".into(), Value::S("y".into())));
        let text = condition(&c).render(&mut ph).unwrap();
        assert_eq!(text, "(#n0 = :v0 AND (NOT (#n0 = :v1)))");
        let (names, values) = ph.into_maps();
        assert_eq!(names.unwrap().len(), 1);
        assert_eq!(values.unwrap().len(), 2);
    }

    #[test]
    fn visibility_guard_depends_on_the_absent_answer() {
        let mut ph = Placeholders::default();
        let text = on_visible(&Condition::not_exists(), 10).render(&mut ph).unwrap();
        assert!(text.starts_with("(attribute_not_exists(#n0) OR (attribute_type("), "{text}");
        assert!(!text.contains("(("), "no doubled parentheses: {text}");
        let mut ph = Placeholders::default();
        let text = on_visible(&Condition::exists(), 10).render(&mut ph).unwrap();
        assert!(text.contains("AND (NOT (attribute_type("), "{text}");
        assert!(!text.contains("(("), "no doubled parentheses: {text}");
    }
}
