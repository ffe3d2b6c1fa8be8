//! Update expressions. [`Update::apply`] runs sets, then set-if-absents,
//! then adds, then removes; DynamoDB refuses two actions on one attribute,
//! so each attribute's actions are first folded into the one action with
//! the same outcome, and refused requests are caught here as `Invalid`.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use ibrat_ports::store::schema::TABLE;
use ibrat_ports::{Key, StoreError, Update, Value};

use super::convert::to_av;
use super::expr::Placeholders;
use super::validate::{is_index_key, validate_index_value};

/// What happens to one attribute.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    Set(Value),
    SetIfAbsent(Value),
    /// `if_not_exists(a, v) + d`.
    SetIfAbsentPlus(Value, i64),
    Add(i64),
    Remove,
}

/// Every attribute's single action, in name order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct UpdatePlan(BTreeMap<String, Action>);

/// Everything one update asks of one attribute.
#[derive(Default)]
struct Asked {
    set: Option<Value>,
    if_absent: Option<Value>,
    add: Option<i64>,
    remove: bool,
}

fn invalid(msg: String) -> StoreError {
    StoreError::Invalid(msg)
}

impl UpdatePlan {
    /// Folds `update` for the item at `key`, refusing what cannot apply:
    /// changing or removing a key attribute, adding to a non-number, and
    /// index keys that are not non-empty strings.
    pub fn new(key: &Key, update: &Update) -> Result<Self, StoreError> {
        let mut asked: BTreeMap<&str, Asked> = BTreeMap::new();
        for (name, value) in &update.set {
            asked.entry(name).or_default().set = Some(value.clone());
        }
        for (name, value) in &update.set_if_absent {
            asked.entry(name).or_default().if_absent.get_or_insert_with(|| value.clone());
        }
        for (name, delta) in &update.add {
            let a = asked.entry(name).or_default();
            let sum = a.add.unwrap_or(0).checked_add(*delta);
            a.add = Some(sum.ok_or_else(|| invalid(format!("adding to `{name}` overflows")))?);
        }
        for name in &update.remove {
            asked.entry(name).or_default().remove = true;
        }

        let mut plan = BTreeMap::new();
        for (name, a) in asked {
            let key_part = match name {
                n if n == TABLE.pk => Some(&key.pk),
                n if n == TABLE.sk => Some(&key.sk),
                _ => None,
            };
            if let Some(current) = key_part {
                let same = a.set.as_ref().is_none_or(|v| v.as_s() == Some(current.as_str()));
                if a.remove || a.add.is_some() || !same {
                    return Err(invalid(format!("an update cannot change `{}` or `{}`", TABLE.pk, TABLE.sk)));
                }
                continue;
            }
            let action = if a.remove {
                Action::Remove
            } else {
                match (a.set, a.if_absent, a.add) {
                    (Some(Value::N(n)), _, Some(d)) => Action::Set(Value::N(
                        n.checked_add(d).ok_or_else(|| invalid(format!("adding to `{name}` overflows")))?,
                    )),
                    (Some(_), _, Some(_)) => {
                        return Err(invalid(format!("cannot add to non-numeric attribute `{name}`")))
                    }
                    (Some(v), _, None) => Action::Set(v),
                    (None, Some(v), Some(d)) => Action::SetIfAbsentPlus(v, d),
                    (None, Some(v), None) => Action::SetIfAbsent(v),
                    (None, None, Some(d)) => Action::Add(d),
                    (None, None, None) => continue,
                }
            };
            if is_index_key(name) {
                match &action {
                    Action::Set(v) | Action::SetIfAbsent(v) => validate_index_value(name, v)?,
                    Action::Remove => {}
                    _ => return Err(invalid(format!("index key attribute `{name}` must be a string"))),
                }
            }
            plan.insert(name.to_owned(), action);
        }
        Ok(UpdatePlan(plan))
    }

    /// The update expression, `None` when nothing changes.
    pub fn render(&self, ph: &mut Placeholders) -> Option<String> {
        let (mut set, mut add, mut remove) = (Vec::new(), Vec::new(), Vec::new());
        for (name, action) in &self.0 {
            let n = ph.name(name);
            match action {
                Action::Set(v) => set.push(format!("{n} = {}", ph.value(to_av(v)))),
                Action::SetIfAbsent(v) => set.push(format!("{n} = if_not_exists({n}, {})", ph.value(to_av(v)))),
                Action::SetIfAbsentPlus(v, d) => {
                    let v = ph.value(to_av(v));
                    let d = ph.value(AttributeValue::N(d.to_string()));
                    set.push(format!("{n} = if_not_exists({n}, {v}) + {d}"));
                }
                Action::Add(d) => add.push(format!("{n} {}", ph.value(AttributeValue::N(d.to_string())))),
                Action::Remove => remove.push(n),
            }
        }
        let mut clauses = Vec::new();
        for (keyword, parts) in [("SET", set), ("ADD", add), ("REMOVE", remove)] {
            if !parts.is_empty() {
                clauses.push(format!("{keyword} {}", parts.join(", ")));
            }
        }
        (!clauses.is_empty()).then(|| clauses.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(update: Update) -> Result<Option<String>, StoreError> {
        let plan = UpdatePlan::new(&Key::new("p", "s"), &update)?;
        Ok(plan.render(&mut Placeholders::default()))
    }

    #[test]
    fn one_action_per_attribute() {
        let u = Update::new().set("a", 1i64).add("a", 2).set_if_absent("b", "x").set_if_absent("b", "y").remove("c");
        let plan = UpdatePlan::new(&Key::new("p", "s"), &u).unwrap();
        assert_eq!(plan.0.get("a"), Some(&Action::Set(Value::N(3))));
        assert_eq!(plan.0.get("b"), Some(&Action::SetIfAbsent(Value::S("x".into()))));
        let u = Update::new().set("a", 1i64).remove("a").set_if_absent("n", 0i64).add("n", 1).add("n", 2);
        let plan = UpdatePlan::new(&Key::new("p", "s"), &u).unwrap();
        assert_eq!(plan.0.get("a"), Some(&Action::Remove));
        assert_eq!(plan.0.get("n"), Some(&Action::SetIfAbsentPlus(Value::N(0), 3)));
    }

    #[test]
    fn renders_clauses() {
        let text = rendered(Update::new().set("a", "x").add("b", -1).remove("c").set_if_absent("d", 1i64)).unwrap();
        assert_eq!(text.as_deref(), Some("SET #n0 = :v0, #n3 = if_not_exists(#n3, :v2) ADD #n1 :v1 REMOVE #n2"));
        assert_eq!(rendered(Update::new()).unwrap(), None);
        assert_eq!(rendered(Update::new().set("pk", "p").set_if_absent("sk", "z")).unwrap(), None);
    }

    #[test]
    fn refuses_what_cannot_apply() {
        for bad in [
            Update::new().set("pk", "other"),
            Update::new().remove("sk"),
            Update::new().add("pk", 1),
            Update::new().set("s", "x").add("s", 1),
            Update::new().set("gsi1pk", 1i64),
            Update::new().set("gsi1sk", ""),
            Update::new().add("gsi2pk", 1),
            Update::new().add("n", i64::MAX).add("n", 1),
        ] {
            assert!(matches!(rendered(bad.clone()), Err(StoreError::Invalid(_))), "{bad:?}");
        }
    }
}
