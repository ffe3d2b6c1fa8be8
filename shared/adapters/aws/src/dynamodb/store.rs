//! [`DynamoStore`]: the `Store` port on one DynamoDB table, and its
//! single-item operations. Queries, batches and transactions live in their
//! own files.
//!
//! Time to live: DynamoDB deletes expired items lazily (hours later), so
//! every read filters items whose `expires_at` has passed, and every
//! condition is sent guarded so that it is evaluated as if an expired item
//! were absent ([`super::expr::on_visible`]).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use futures::stream::{self, StreamExt};
use ibrat_ports::{Clock, Condition, Item, Key, Page, Query, Store, StoreError, SystemClock, Update, WriteOp};

use super::convert::{from_attr_map, key_map, to_attr_map, AttrMap};
use super::errors::sdk_error;
use super::expr::{condition, expired, on_visible, Expr, Placeholders};
use super::update::UpdatePlan;
use super::validate::{validate_item, validate_key};

/// How many conditional puts of one `put_many` are in flight at once.
const PUT_MANY_CONCURRENCY: usize = 16;
/// How often an update retries when the expired item it replaces keeps
/// changing under it, before reporting the store as busy.
const MAX_EXPIRY_RACES: usize = 5;
/// An attribute no item carries: removing it is the update that changes
/// nothing (DynamoDB needs some action to upsert in a transaction).
pub(crate) const NOOP_ATTRIBUTE: &str = "_ibrat_noop";

/// The `Store` port on a DynamoDB table laid out as
/// [`ibrat_ports::store::schema::TABLE`] says (see [`super::create_table`]).
/// Cheap to clone: clones share the SDK client.
#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: Arc<str>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore").field("table", &self.table).finish_non_exhaustive()
    }
}

/// What a guarded update found.
enum UpdateOutcome {
    Done(Item),
    /// The stored item has expired and the condition holds on no item: the
    /// update must start from a fresh item instead of the expired one.
    OverExpired,
}

impl DynamoStore {
    /// A store on `table`, using the shared AWS configuration (region,
    /// credentials and any endpoint override): what the Lambda mains call.
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::from_client(aws_sdk_dynamodb::Client::new(config), table)
    }

    /// A store using an already built client (tests add interceptors).
    pub fn from_client(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        let table: String = table.into();
        DynamoStore { client, table: table.into(), clock: Arc::new(SystemClock) }
    }

    /// Uses `clock` to decide which items have expired (TTL), so tests with
    /// a manual clock see expiry when they move time forward.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        DynamoStore { clock, ..self }
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Now, in epoch seconds (the TTL attribute's unit).
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The update on the stored item, only when it has not expired.
    async fn update_unexpired(
        &self,
        key: &Key,
        plan: &UpdatePlan,
        cond: Option<&Condition>,
        now: i64,
    ) -> Result<UpdateOutcome, StoreError> {
        let mut ph = Placeholders::default();
        let on_stored = cond.map_or(Expr::Const(true), condition);
        let guard = Expr::all(vec![on_stored, expired(now).negate()]).render(&mut ph);
        let update = update_expression(plan, &mut ph);
        let (names, values) = ph.into_maps();
        let result = self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key_map(key)))
            .update_expression(update)
            .set_condition_expression(guard)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes() {
                Some(attrs) => Ok(UpdateOutcome::Done(from_attr_map(attrs)?)),
                None => Err(StoreError::Corrupt("DynamoDB returned no attributes for an update".into())),
            },
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                    let stored = e.item().map(from_attr_map).transpose()?;
                    match stored {
                        Some(old) if old.is_expired(now) => {
                            if cond.is_none_or(|c| c.eval(None)) {
                                Ok(UpdateOutcome::OverExpired)
                            } else {
                                Err(StoreError::ConditionFailed { item: None })
                            }
                        }
                        other => Err(StoreError::ConditionFailed { item: other.map(Box::new) }),
                    }
                }
                _ => Err(sdk_error(err)),
            },
        }
    }

    /// Writes `fresh` over a stored item only while that one is still
    /// expired at `now`; false when it no longer is.
    async fn replace_expired(&self, fresh: &Item, now: i64) -> Result<bool, StoreError> {
        let mut ph = Placeholders::default();
        let guard = expired(now).render(&mut ph);
        let (names, values) = ph.into_maps();
        let result = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(to_attr_map(fresh)))
            .set_condition_expression(guard)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if matches!(err.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_))) => {
                Ok(false)
            }
            Err(err) => Err(sdk_error(err)),
        }
    }
}

/// The update expression for a plan; an empty plan removes an attribute no
/// item has, which still creates a missing item as `update` must.
pub(crate) fn update_expression(plan: &UpdatePlan, ph: &mut Placeholders) -> String {
    plan.render(ph).unwrap_or_else(|| format!("REMOVE {}", ph.name(NOOP_ATTRIBUTE)))
}

/// A stored item as the port sees it: absent once expired.
pub(crate) fn visible(map: Option<&AttrMap>, now: i64) -> Result<Option<Item>, StoreError> {
    Ok(map.map(from_attr_map).transpose()?.filter(|i| !i.is_expired(now)))
}

/// A failed condition, carrying the item as the port sees it.
fn condition_failed(map: Option<&AttrMap>, now: i64) -> StoreError {
    match visible(map, now) {
        Ok(item) => StoreError::ConditionFailed { item: item.map(Box::new) },
        Err(e) => e,
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let now = self.now();
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        visible(out.item(), now)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.batch_get_items(keys).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        validate_item(&item)?;
        let now = self.now();
        let mut ph = Placeholders::default();
        let guard = condition.map(|c| on_visible(&c, now)).and_then(|e| e.render(&mut ph));
        let (names, values) = ph.into_maps();
        let result = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(to_attr_map(&item)))
            .set_condition_expression(guard)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(e)) => Err(condition_failed(e.item(), now)),
                _ => Err(sdk_error(err)),
            },
        }
    }

    /// Updates the stored item in one request; when that item has expired,
    /// the update starts from a fresh item instead (as if it were absent),
    /// replacing the expired one only while it is still expired.
    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, StoreError> {
        validate_key(key)?;
        let plan = UpdatePlan::new(key, &update)?;
        for _ in 0..MAX_EXPIRY_RACES {
            let now = self.now();
            match self.update_unexpired(key, &plan, condition.as_ref(), now).await? {
                UpdateOutcome::Done(item) => return Ok(item),
                UpdateOutcome::OverExpired => {
                    let fresh = update.apply(Item::with_key(key))?;
                    validate_item(&fresh)?;
                    if self.replace_expired(&fresh, now).await? {
                        return Ok(fresh);
                    }
                }
            }
        }
        Err(StoreError::Unavailable("an expired item kept changing during the update; retry".into()))
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let now = self.now();
        let mut ph = Placeholders::default();
        let guard = condition.map(|c| on_visible(&c, now)).and_then(|e| e.render(&mut ph));
        let (names, values) = ph.into_maps();
        let result = self
            .client
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(guard)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => visible(out.attributes(), now),
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(e)) => Err(condition_failed(e.item(), now)),
                _ => Err(sdk_error(err)),
            },
        }
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.query_page(query).await
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.transact(ops).await
    }

    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<Key>) -> Result<(), StoreError> {
        self.batch_write_items(puts, deletes).await
    }

    /// Independent conditional puts, many in flight at once; puts of one key
    /// run in request order so each sees the one before it.
    async fn put_many(
        &self,
        items: Vec<(Item, Option<Condition>)>,
    ) -> Result<Vec<Result<(), Option<Item>>>, StoreError> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of: HashMap<Key, usize> = HashMap::new();
        for (i, (item, _)) in items.iter().enumerate() {
            let key = validate_item(item)?;
            let g = *group_of.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
        }
        let items = &items;
        let mut runs = stream::iter(groups)
            .map(|group| async move {
                let mut done = Vec::with_capacity(group.len());
                for i in group {
                    let (item, cond) = &items[i];
                    match self.put(item.clone(), cond.clone()).await {
                        Ok(()) => done.push((i, Ok(()))),
                        Err(StoreError::ConditionFailed { item }) => done.push((i, Err(item.map(|b| *b)))),
                        Err(other) => return Err(other),
                    }
                }
                Ok(done)
            })
            .buffer_unordered(PUT_MANY_CONCURRENCY);
        let mut results: Vec<Option<Result<(), Option<Item>>>> = vec![None; items.len()];
        while let Some(done) = runs.next().await {
            for (i, r) in done? {
                results[i] = Some(r);
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }
}
