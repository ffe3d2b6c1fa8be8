//! Daily statistics counters, changed only inside the transactions that
//! change calls, so the totals always equal the sum of the call records.

use chrono::{DateTime, Utc};
use ibrat_domain::CallOutcome;
use ibrat_ports::{Condition, Item, Key, Store, StoreError, Update, Value, WriteOp};
use serde::Serialize;

use super::codec::ts;
use super::keys;

/// One day's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DailyStats {
    pub day: String,
    /// Calls placed (created).
    pub calls: i64,
    /// Calls finished, by outcome.
    pub connected: i64,
    pub no_answer: i64,
    pub busy: i64,
    pub failed: i64,
    pub machine: i64,
    pub abandoned: i64,
    pub canceled: i64,
    /// Seconds talked on connected calls.
    pub talk_secs: i64,
    /// Milliseconds from answer to bridge, summed over connected calls.
    pub wait_ms: i64,
}

fn outcome_attr(outcome: CallOutcome) -> &'static str {
    outcome.as_str()
}

/// The counter change for a call being placed on `at`'s day.
pub fn call_placed_op(at: DateTime<Utc>) -> WriteOp {
    let day = keys::day(at);
    WriteOp::Update {
        key: keys::daily_stats(&day),
        update: Update::new().add("calls", 1).set("day", day),
        condition: None,
    }
}

/// The counter change for a call that ended with `outcome`, counted on the
/// day the call was created (so a day's outcomes add up to its calls).
pub fn call_finished_op(created: DateTime<Utc>, outcome: CallOutcome, talk_secs: u32, wait_ms: Option<i64>) -> WriteOp {
    let day = keys::day(created);
    let mut update = Update::new().add(outcome_attr(outcome), 1).set("day", day.clone());
    if outcome == CallOutcome::Connected {
        update = update.add("talk_secs", talk_secs as i64).add("wait_ms", wait_ms.unwrap_or(0).max(0));
    }
    WriteOp::Update { key: keys::daily_stats(&day), update, condition: None }
}

fn from_item(day: &str, item: Option<&Item>) -> DailyStats {
    let n = |name: &str| item.and_then(|i| i.n(name)).unwrap_or(0);
    DailyStats {
        day: day.to_owned(),
        calls: n("calls"),
        connected: n("connected"),
        no_answer: n("no_answer"),
        busy: n("busy"),
        failed: n("failed"),
        machine: n("machine"),
        abandoned: n("abandoned"),
        canceled: n("canceled"),
        talk_secs: n("talk_secs"),
        wait_ms: n("wait_ms"),
    }
}

/// Reads the totals of the given days (`yyyy-mm-dd`), in the order given.
pub async fn get_days(store: &dyn Store, days: &[String]) -> Result<Vec<DailyStats>, StoreError> {
    let keys: Vec<Key> = days.iter().map(|d| keys::daily_stats(d)).collect();
    let items = store.batch_get(&keys).await?;
    Ok(days
        .iter()
        .map(|d| {
            let key = keys::daily_stats(d);
            from_item(d, items.iter().find(|i| i.key().as_ref() == Some(&key)))
        })
        .collect())
}

/// Takes the turn to publish `name` now unless someone did in the last
/// second (a conditional write on the counter item); true when taken.
pub async fn take_publish_turn(store: &dyn Store, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let due = Condition::Or(vec![
        Condition::NotExists("published_at".into()),
        Condition::Le("published_at".into(), Value::N(now.timestamp_millis() - 1000)),
    ]);
    match store.update(&keys::counter(name), Update::new().set("published_at", ts(now)), Some(due)).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
