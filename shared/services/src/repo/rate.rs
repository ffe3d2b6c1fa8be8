//! Call-rate slots: one `RATE#<epoch second>` item per second counts the
//! calls started in it. Taking a slot is a conditional `ADD count 1` with
//! `count < cps`, so the limit holds across any number of dialers.

use ibrat_ports::{Condition, Store, StoreError, Update, Value};

use super::keys;

/// How long a slot item lives after its second (it is useless afterwards).
pub const SLOT_TTL_SECS: i64 = 3600;

/// Tries to take one call start in `second`; false when the second is full.
pub async fn try_take(store: &dyn Store, second: i64, cps: u32) -> Result<bool, StoreError> {
    let update = Update::new().add("count", 1).set("expires_at", second + SLOT_TTL_SECS);
    let condition = Condition::Or(vec![
        Condition::NotExists("count".into()),
        Condition::Lt("count".into(), Value::N(cps.max(1) as i64)),
    ]);
    match store.update(&keys::rate_slot(second), update, Some(condition)).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
