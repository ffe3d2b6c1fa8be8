//! Picking the next leads to dial from the sharded queue index (gsi2).
//!
//! A queued lead's gsi2 sort key is `<class><prio>#<due ms13>#<created ms13>#<id>`
//! (class `0` for callbacks, whose key is `0#...`), so byte order is exactly
//! the dialing order: due callbacks, then urgent..low, then earliest due,
//! then oldest. Each shard is queried per class with a `between` range ending
//! at now and a limit of the leads still wanted, and the shards are merged by
//! sort key: the cost depends on how many leads are wanted, never on how many
//! are stored.

use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use ibrat_domain::{Lead, Priority};
use ibrat_ports::store::schema::GSI2;
use ibrat_ports::{Query, SkCondition, Store, StoreError};

use crate::repo::keys::{ms13, queue_pk};
use crate::repo::leads::{from_item, QUEUE_SHARDS};

/// The sort-key ranges of due entries, in dialing order.
fn due_ranges(now: DateTime<Utc>) -> Vec<(String, String)> {
    // `\u{ff}` encodes as bytes above every digit and `#`, so the upper bound
    // includes every entry due at or before `now`.
    let now = ms13(now);
    let mut ranges = vec![("0#".to_owned(), format!("0#{now}\u{ff}"))];
    for p in Priority::ALL {
        let prefix = format!("1{}#", p.rank());
        ranges.push((prefix.clone(), format!("{prefix}{now}\u{ff}")));
    }
    ranges
}

/// Up to `n` leads due at `now`, in dialing order. Entries that fail to
/// decode are skipped with a warning rather than blocking the queue.
pub async fn next_due(store: &dyn Store, now: DateTime<Utc>, n: usize) -> Result<Vec<Lead>, StoreError> {
    let mut picked: Vec<(String, Lead)> = Vec::new();
    if n == 0 {
        return Ok(Vec::new());
    }
    for (from, to) in due_ranges(now) {
        let want = n - picked.len();
        let queries = (0..QUEUE_SHARDS).map(|shard| {
            let q =
                Query::index(GSI2.name, queue_pk(shard)).sk(SkCondition::Between(from.clone(), to.clone())).limit(want);
            async move { store.query(&q).await }
        });
        let pages = try_join_all(queries).await?;
        let mut found: Vec<(String, Lead)> = pages
            .into_iter()
            .flat_map(|p| p.items)
            .filter_map(|item| {
                let sk = item.s(GSI2.sk)?.to_owned();
                match from_item(&item) {
                    Ok(lead) => Some((sk, lead)),
                    Err(e) => {
                        tracing::warn!(error = %e, sk, "skipping undecodable queue entry");
                        None
                    }
                }
            })
            .collect();
        found.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        found.truncate(want);
        picked.extend(found);
        if picked.len() >= n {
            break;
        }
    }
    Ok(picked.into_iter().map(|(_, lead)| lead).collect())
}
