//! Queries: one partition of the table or of an index, a sort-key
//! condition, either direction, exact pages and opaque cursors.
//!
//! Expired items are filtered out of what DynamoDB returns, and pages are
//! topped up so that a page holds exactly `limit` visible items when that
//! many remain. One item beyond the limit is read, so a cursor is returned
//! only when another visible item follows, as the local store does.

use aws_sdk_dynamodb::types::AttributeValue;
use ibrat_ports::store::schema::{IndexDef, TABLE};
use ibrat_ports::{Page, Query, SkCondition, StoreError};

use super::convert::{from_attr_map, position_of, AttrMap};
use super::cursor;
use super::errors::sdk_error;
use super::expr::Placeholders;
use super::store::DynamoStore;

/// A sort-key restriction DynamoDB accepts, or the knowledge that nothing
/// matches (sort keys are never empty, and `BETWEEN` needs ordered bounds).
#[derive(Debug, Clone, PartialEq, Eq)]
enum SkRestriction {
    Nothing,
    Any,
    Some(SkCondition),
}

/// Rewrites conditions on the empty string, which DynamoDB refuses as key
/// values, into their meaning for non-empty sort keys.
fn restriction(sk: &SkCondition) -> SkRestriction {
    use SkCondition as S;
    match sk {
        S::Any => SkRestriction::Any,
        S::Eq(v) | S::Lt(v) | S::Le(v) if v.is_empty() => SkRestriction::Nothing,
        S::BeginsWith(v) | S::Gt(v) | S::Ge(v) if v.is_empty() => SkRestriction::Any,
        S::Between(a, b) if a.as_bytes() > b.as_bytes() || b.is_empty() => SkRestriction::Nothing,
        S::Between(a, b) if a.is_empty() => SkRestriction::Some(S::Le(b.clone())),
        other => SkRestriction::Some(other.clone()),
    }
}

/// The key condition expression for one partition and sort-key restriction.
fn key_condition(pk_name: &str, sk_name: &str, pk: &str, sk: &SkCondition, ph: &mut Placeholders) -> String {
    let pk_name = ph.name(pk_name);
    let pk_value = ph.value(AttributeValue::S(pk.to_owned()));
    let partition = format!("{pk_name} = {pk_value}");
    if *sk == SkCondition::Any {
        return partition;
    }
    let n = ph.name(sk_name);
    let mut v = |s: &String| ph.value(AttributeValue::S(s.clone()));
    let sort = match sk {
        SkCondition::Any => return partition,
        SkCondition::Eq(s) => format!("{n} = {}", v(s)),
        SkCondition::BeginsWith(s) => format!("begins_with({n}, {})", v(s)),
        SkCondition::Between(a, b) => {
            let a = v(a);
            format!("{n} BETWEEN {a} AND {}", v(b))
        }
        SkCondition::Lt(s) => format!("{n} < {}", v(s)),
        SkCondition::Le(s) => format!("{n} <= {}", v(s)),
        SkCondition::Gt(s) => format!("{n} > {}", v(s)),
        SkCondition::Ge(s) => format!("{n} >= {}", v(s)),
    };
    format!("{partition} AND {sort}")
}

impl DynamoStore {
    /// One page of a query (see the module documentation).
    pub(crate) async fn query_page(&self, query: &Query) -> Result<Page, StoreError> {
        if query.pk.is_empty() {
            return Err(StoreError::Invalid("query partition key must not be empty".into()));
        }
        if query.limit == Some(0) {
            return Err(StoreError::Invalid("query limit must be at least 1".into()));
        }
        let index: Option<&IndexDef> = match query.index {
            None => None,
            Some(name) => {
                Some(TABLE.index(name).ok_or_else(|| StoreError::Invalid(format!("no index named `{name}`")))?)
            }
        };
        let mut start: Option<AttrMap> =
            query.cursor.as_ref().map(|c| cursor::decode(c, index, &query.pk)).transpose()?;
        let sk = match restriction(&query.sk) {
            SkRestriction::Nothing => return Ok(Page::default()),
            SkRestriction::Any => SkCondition::Any,
            SkRestriction::Some(sk) => sk,
        };
        let (pk_name, sk_name) = index.map_or((TABLE.pk, TABLE.sk), |i| (i.pk, i.sk));
        // Read one beyond the page to learn whether a visible item follows.
        let want = query.limit.map(|l| l.saturating_add(1));
        let now = self.now();
        let mut items = Vec::new();
        loop {
            let mut ph = Placeholders::default();
            let condition = key_condition(pk_name, sk_name, &query.pk, &sk, &mut ph);
            let (names, values) = ph.into_maps();
            let remaining = want.map(|w| i32::try_from(w.saturating_sub(items.len())).unwrap_or(i32::MAX));
            let out = self
                .client
                .query()
                .table_name(&*self.table)
                .set_index_name(index.map(|i| i.name.to_owned()))
                .key_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .scan_index_forward(query.forward)
                // Indexes only offer eventually consistent reads.
                .consistent_read(index.is_none())
                .set_limit(remaining)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            for map in out.items() {
                let item = from_attr_map(map)?;
                if !item.is_expired(now) {
                    items.push(item);
                }
            }
            start = out.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            let full = want.is_some_and(|w| items.len() >= w);
            if full || start.is_none() {
                break;
            }
        }
        let mut page = Page { items, cursor: None };
        if let Some(limit) = query.limit {
            if page.items.len() > limit {
                page.items.truncate(limit);
                let last = page.items.last().and_then(|i| position_of(i, index));
                let position = last.ok_or_else(|| StoreError::Corrupt("a returned item lacks its key".into()))?;
                page.cursor = Some(cursor::encode(&position));
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_strings_become_their_meaning() {
        let s = |v: &str| v.to_owned();
        assert_eq!(restriction(&SkCondition::Eq(s(""))), SkRestriction::Nothing);
        assert_eq!(restriction(&SkCondition::BeginsWith(s(""))), SkRestriction::Any);
        assert_eq!(restriction(&SkCondition::Between(s("c"), s("a"))), SkRestriction::Nothing);
        assert_eq!(restriction(&SkCondition::Between(s(""), s("a"))), SkRestriction::Some(SkCondition::Le(s("a"))));
        assert_eq!(restriction(&SkCondition::Ge(s("a"))), SkRestriction::Some(SkCondition::Ge(s("a"))));
    }

    #[test]
    fn key_conditions_render() {
        let mut ph = Placeholders::default();
        let text = key_condition("gsi1pk", "gsi1sk", "P", &SkCondition::Between("a".into(), "b".into()), &mut ph);
        assert_eq!(text, "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2");
        let mut ph = Placeholders::default();
        assert_eq!(key_condition("pk", "sk", "P", &SkCondition::Any, &mut ph), "#n0 = :v0");
        assert_eq!(ph.into_maps().0.map(|n| n.len()), Some(1), "no unused name placeholder");
    }
}
