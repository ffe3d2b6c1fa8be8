//! Queue statistics for everyone's dashboard, published at most once a
//! second across every process (a conditional write on a shared item).

use std::collections::BTreeMap;

use ibrat_domain::{EventKind, Priority};
use ibrat_ports::store::schema::GSI2;
use ibrat_ports::{Query, SkCondition, StoreError};

use crate::context::Deps;
use crate::repo::leads::QUEUE_SHARDS;
use crate::repo::{self, keys, users};

/// Leads counted per priority bucket at most; beyond it the count is a floor.
const COUNT_CAP: usize = 10_000;

/// Waiting leads per priority (callbacks counted under their priority's
/// bucket `callback`), calls in flight and salespeople available.
pub async fn compute(deps: &Deps) -> Result<EventKind, StoreError> {
    let store = deps.store.as_ref();
    let mut waiting: BTreeMap<String, u64> = BTreeMap::new();
    let buckets: Vec<(String, String)> = std::iter::once(("callback".to_owned(), "0#".to_owned()))
        .chain(Priority::ALL.iter().map(|p| (p.as_str().to_owned(), format!("1{}#", p.rank()))))
        .collect();
    for (name, prefix) in &buckets {
        let mut count = 0usize;
        for shard in 0..QUEUE_SHARDS {
            let mut cursor = None;
            loop {
                let q = Query::index(GSI2.name, keys::queue_pk(shard))
                    .sk(SkCondition::BeginsWith(prefix.clone()))
                    .limit(1000)
                    .after(cursor);
                let page = store.query(&q).await?;
                count += page.items.len();
                match page.cursor {
                    Some(c) if count < COUNT_CAP => cursor = Some(c),
                    _ => break,
                }
            }
        }
        waiting.insert(name.clone(), count as u64);
    }
    let in_flight = repo::pacing::get(store).await?.in_flight.max(0) as u64;
    let available = users::available(store, 1000).await?.len() as u64;
    Ok(EventKind::QueueStats {
        waiting_by_priority: waiting,
        calls_in_flight: in_flight,
        salespeople_available: available,
    })
}

/// Publishes the statistics unless someone did in the last second.
/// Returns true when this call published.
pub async fn maybe_publish(deps: &Deps) -> Result<bool, StoreError> {
    let now = deps.clock.now();
    if !repo::stats::take_publish_turn(deps.store.as_ref(), "queue_stats", now).await? {
        return Ok(false);
    }
    let stats = compute(deps).await?;
    deps.emit(stats).await;
    Ok(true)
}
