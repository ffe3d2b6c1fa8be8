//! Transactions: one `TransactWriteItems` of up to 100 operations, with
//! the cancellation reasons mapped back to the operations whose conditions
//! failed, and the item each saw (absent when expired).
//!
//! An `Update` must not merge into an expired item, which is absent to the
//! port. Updates are first sent guarded by "not expired"; when only that
//! guard fails (and the update's own condition holds on no item), the
//! transaction is sent again with that operation turned into a put of the
//! fresh item, guarded by "still expired".

use std::collections::HashSet;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use ibrat_ports::store::{CancelReason, MAX_TRANSACTION_ITEMS};
use ibrat_ports::{Condition, Item, StoreError, WriteOp};

use super::convert::{from_attr_map, key_map, to_attr_map};
use super::errors::{build_error, cancellation_code, sdk_error};
use super::expr::{condition, expired, on_visible, Expr, Placeholders};
use super::store::{update_expression, visible, DynamoStore};
use super::update::UpdatePlan;
use super::validate::{validate_item, validate_key};

/// How often a transaction is re-sent because items it updates expired
/// or changed between attempts, before reporting a conflict (retryable).
const MAX_EXPIRY_RACES: usize = 5;

/// One operation, checked and ready to send.
struct Prepared {
    op: WriteOp,
    /// The folded update, for `Update` operations.
    plan: Option<UpdatePlan>,
    /// Send as a put of the fresh item over an expired one.
    over_expired: bool,
}

/// What a cancellation means.
enum Verdict {
    /// These operations' conditions failed (empty: a conflict, retry).
    Failed(Vec<CancelReason>),
    /// Resend: an update's view of expiry was out of date.
    Resend,
}

const ALL_OLD: ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure::AllOld;

impl Prepared {
    /// The SDK form of the operation at `now`.
    fn item(&self, table: &str, now: i64) -> Result<TransactWriteItem, StoreError> {
        let mut ph = Placeholders::default();
        let guard = |c: &Option<Condition>, ph: &mut Placeholders| {
            c.as_ref().map(|c| on_visible(c, now)).and_then(|e| e.render(ph))
        };
        let builder = TransactWriteItem::builder();
        Ok(match (&self.op, self.over_expired) {
            (WriteOp::Put { item, condition }, _) => {
                let guard = guard(condition, &mut ph);
                let (names, values) = ph.into_maps();
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(to_attr_map(item)))
                    .set_condition_expression(guard)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(ALL_OLD)
                    .build()
                    .map_err(build_error)?;
                builder.put(put).build()
            }
            (WriteOp::Update { key, update, .. }, true) => {
                let fresh = update.apply(Item::with_key(key))?;
                validate_item(&fresh)?;
                let guard = expired(now).text(&mut ph);
                let (names, values) = ph.into_maps();
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(to_attr_map(&fresh)))
                    .condition_expression(guard)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(ALL_OLD)
                    .build()
                    .map_err(build_error)?;
                builder.put(put).build()
            }
            (WriteOp::Update { key, condition: c, .. }, false) => {
                let on_stored = c.as_ref().map_or(Expr::Const(true), condition);
                let guard = Expr::all(vec![on_stored, expired(now).negate()]).render(&mut ph);
                let plan = self.plan.clone().unwrap_or_default();
                let expression = update_expression(&plan, &mut ph);
                let (names, values) = ph.into_maps();
                let update = Update::builder()
                    .table_name(table)
                    .set_key(Some(key_map(key)))
                    .update_expression(expression)
                    .set_condition_expression(guard)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(ALL_OLD)
                    .build()
                    .map_err(build_error)?;
                builder.update(update).build()
            }
            (WriteOp::Delete { key, condition }, _) => {
                let guard = guard(condition, &mut ph);
                let (names, values) = ph.into_maps();
                let delete = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key_map(key)))
                    .set_condition_expression(guard)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(ALL_OLD)
                    .build()
                    .map_err(build_error)?;
                builder.delete(delete).build()
            }
            (WriteOp::Check { key, condition }, _) => {
                // A check needs an expression even when it always holds.
                let guard = on_visible(condition, now).text(&mut ph);
                let (names, values) = ph.into_maps();
                let check = ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key_map(key)))
                    .condition_expression(guard)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(ALL_OLD)
                    .build()
                    .map_err(build_error)?;
                builder.condition_check(check).build()
            }
        })
    }
}

/// Checks what DynamoDB would refuse: the operation count, two operations
/// on one item, bad keys and items, updates that cannot apply.
fn prepare(ops: Vec<WriteOp>) -> Result<Vec<Prepared>, StoreError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Invalid(format!(
            "a transaction takes 1 to {MAX_TRANSACTION_ITEMS} operations, not {}",
            ops.len()
        )));
    }
    let mut keys = HashSet::with_capacity(ops.len());
    let mut prepared = Vec::with_capacity(ops.len());
    for op in ops {
        let (key, plan) = match &op {
            WriteOp::Put { item, .. } => (validate_item(item)?, None),
            WriteOp::Update { key, update, .. } => (key.clone(), Some(UpdatePlan::new(key, update)?)),
            other => (other.key(), None),
        };
        validate_key(&key)?;
        if !keys.insert(key) {
            return Err(StoreError::Invalid("two operations on one item in one transaction".into()));
        }
        prepared.push(Prepared { op, plan, over_expired: false });
    }
    Ok(prepared)
}

/// Reads the cancellation reasons (one per operation, in order).
fn judge(prepared: &mut [Prepared], reasons: &[CancellationReason], now: i64) -> Result<Verdict, StoreError> {
    let mut failed = Vec::new();
    let mut refused: Option<StoreError> = None;
    let mut resend = false;
    for (index, (reason, p)) in reasons.iter().zip(prepared.iter_mut()).enumerate() {
        let code = reason.code().unwrap_or("None");
        if code != "ConditionalCheckFailed" {
            if let Some(err) = cancellation_code(code, reason.message()) {
                refused.get_or_insert(err);
            }
            continue;
        }
        let stored = reason.item().map(from_attr_map).transpose()?;
        match &p.op {
            WriteOp::Update { .. } if p.over_expired => {
                // No longer expired: go back to updating it in place.
                p.over_expired = false;
                resend = true;
            }
            WriteOp::Update { condition, .. }
                if stored.as_ref().is_some_and(|s| s.is_expired(now))
                    && condition.as_ref().is_none_or(|c| c.eval(None)) =>
            {
                p.over_expired = true;
                resend = true;
            }
            _ => {
                let item = visible(reason.item(), now)?;
                failed.push(CancelReason { index, item });
            }
        }
    }
    if let Some(err) = refused {
        return Err(err);
    }
    if !failed.is_empty() || !resend {
        return Ok(Verdict::Failed(failed));
    }
    Ok(Verdict::Resend)
}

impl DynamoStore {
    /// See [`ibrat_ports::Store::transact_write`].
    pub(crate) async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let mut prepared = prepare(ops)?;
        for _ in 0..MAX_EXPIRY_RACES {
            let now = self.now();
            let items = prepared.iter().map(|p| p.item(&self.table, now)).collect::<Result<Vec<_>, _>>()?;
            let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = err.as_service_error() else {
                return Err(sdk_error(err));
            };
            match judge(&mut prepared, cancel.cancellation_reasons(), now)? {
                Verdict::Failed(failed) => return Err(StoreError::TransactionCanceled { failed }),
                Verdict::Resend => {}
            }
        }
        Err(StoreError::TransactionCanceled { failed: Vec::new() })
    }
}
