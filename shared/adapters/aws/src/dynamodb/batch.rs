//! Batch reads and writes: split into requests DynamoDB accepts (100 keys
//! per `BatchGetItem`, 25 writes per `BatchWriteItem`), a few in flight at
//! once, with whatever DynamoDB leaves unprocessed retried with backoff.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use futures::stream::{self, StreamExt, TryStreamExt};
use ibrat_ports::store::{MAX_BATCH_GET_ITEMS, MAX_BATCH_WRITE_ITEMS};
use ibrat_ports::{Item, Key, StoreError};

use super::convert::{key_map, to_attr_map, AttrMap};
use super::errors::{build_error, sdk_error};
use super::store::{visible, DynamoStore};
use super::validate::{validate_item, validate_key};

/// Requests of one batch call in flight at once.
const BATCH_CONCURRENCY: usize = 4;
/// Tries for the unprocessed remainder of one request before giving up.
const MAX_ATTEMPTS: u32 = 10;
/// First backoff delay; it doubles on each retry up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The delay before retry `attempt` (0-based): exponential, capped, with
/// jitter so concurrent writers do not retry in lockstep.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let full = BASE_BACKOFF.saturating_mul(1u32 << attempt.min(16)).min(MAX_BACKOFF);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    // Between half and all of the full delay.
    full / 2 + full / 2 * (nanos % 1000) / 1000
}

/// One write of a batch, after deduplication.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BatchWrite {
    Put(Item),
    Delete(Key),
}

/// The writes of a batch in requests of at most [`MAX_BATCH_WRITE_ITEMS`].
/// DynamoDB refuses two writes of one key in one request, so each key is
/// written once, with the outcome the local store gives: puts apply in
/// order and deletes after them, so the last put wins unless the key is
/// also deleted.
pub(crate) fn write_chunks(puts: Vec<Item>, deletes: Vec<Key>) -> Result<Vec<Vec<BatchWrite>>, StoreError> {
    let mut writes: Vec<BatchWrite> = Vec::with_capacity(puts.len() + deletes.len());
    let mut position: HashMap<Key, usize> = HashMap::new();
    let mut record = |key: Key, write: BatchWrite, writes: &mut Vec<BatchWrite>| match position.get(&key) {
        Some(&i) => writes[i] = write,
        None => {
            position.insert(key, writes.len());
            writes.push(write);
        }
    };
    for item in puts {
        let key = validate_item(&item)?;
        record(key, BatchWrite::Put(item), &mut writes);
    }
    for key in deletes {
        validate_key(&key)?;
        record(key.clone(), BatchWrite::Delete(key), &mut writes);
    }
    Ok(writes.chunks(MAX_BATCH_WRITE_ITEMS).map(<[BatchWrite]>::to_vec).collect())
}

/// The SDK form of one write.
fn write_request(write: &BatchWrite) -> Result<WriteRequest, StoreError> {
    Ok(match write {
        BatchWrite::Put(item) => WriteRequest::builder()
            .put_request(PutRequest::builder().set_item(Some(to_attr_map(item))).build().map_err(build_error)?)
            .build(),
        BatchWrite::Delete(key) => WriteRequest::builder()
            .delete_request(DeleteRequest::builder().set_key(Some(key_map(key))).build().map_err(build_error)?)
            .build(),
    })
}

impl DynamoStore {
    /// See [`ibrat_ports::Store::batch_write`].
    pub(crate) async fn batch_write_items(&self, puts: Vec<Item>, deletes: Vec<Key>) -> Result<(), StoreError> {
        let chunks = write_chunks(puts, deletes)?
            .iter()
            .map(|chunk| chunk.iter().map(write_request).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()?;
        stream::iter(chunks.into_iter().map(|c| self.send_writes(c)))
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect::<()>()
            .await
    }

    /// One `BatchWriteItem`, then its unprocessed items until none remain.
    async fn send_writes(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            let out =
                self.client.batch_write_item().request_items(&*self.table, requests).send().await.map_err(sdk_error)?;
            requests = out.unprocessed_items().and_then(|m| m.get(&*self.table)).cloned().unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            if attempt + 1 >= MAX_ATTEMPTS {
                tracing::warn!(left = requests.len(), "batch write still unprocessed after retries");
                return Err(StoreError::Throttled);
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// See [`ibrat_ports::Store::batch_get`]: consistent reads, each key
    /// asked once, expired items left out.
    pub(crate) async fn batch_get_items(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let mut seen = HashSet::with_capacity(keys.len());
        let mut unique = Vec::with_capacity(keys.len());
        for key in keys {
            validate_key(key)?;
            if seen.insert(key) {
                unique.push(key_map(key));
            }
        }
        let now = self.now();
        let chunks: Vec<Vec<AttrMap>> = unique.chunks(MAX_BATCH_GET_ITEMS).map(<[AttrMap]>::to_vec).collect();
        let found: Vec<Vec<AttrMap>> = stream::iter(chunks.into_iter().map(|c| self.send_gets(c)))
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect()
            .await?;
        let mut items = Vec::new();
        for map in found.iter().flatten() {
            items.extend(visible(Some(map), now)?);
        }
        Ok(items)
    }

    /// One `BatchGetItem`, then its unprocessed keys until none remain.
    async fn send_gets(&self, keys: Vec<AttrMap>) -> Result<Vec<AttrMap>, StoreError> {
        let mut request =
            KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(build_error)?;
        let mut found = Vec::new();
        let mut attempt = 0;
        loop {
            let out =
                self.client.batch_get_item().request_items(&*self.table, request).send().await.map_err(sdk_error)?;
            if let Some(items) = out.responses().and_then(|r| r.get(&*self.table)) {
                found.extend(items.iter().cloned());
            }
            match out.unprocessed_keys().and_then(|m| m.get(&*self.table)) {
                Some(rest) if !rest.keys().is_empty() => request = rest.clone(),
                _ => return Ok(found),
            }
            if attempt + 1 >= MAX_ATTEMPTS {
                tracing::warn!(left = request.keys().len(), "batch get still unprocessed after retries");
                return Err(StoreError::Throttled);
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: usize) -> Item {
        Item::with_key(&Key::new(format!("P#{i}"), "S")).with("i", i as i64)
    }

    #[test]
    fn chunks_hold_at_most_25_writes() {
        let chunks = write_chunks((0..60).map(item).collect(), vec![Key::new("X", "S")]).unwrap();
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![25, 25, 11]);
        assert!(write_chunks(Vec::new(), Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn each_key_is_written_once_with_the_local_outcome() {
        let later = item(1).with("v", 2i64);
        let chunks = write_chunks(vec![item(1), item(2), later.clone()], vec![Key::new("P#2", "S")]).unwrap();
        assert_eq!(chunks, vec![vec![BatchWrite::Put(later), BatchWrite::Delete(Key::new("P#2", "S"))]]);
    }

    #[test]
    fn invalid_writes_are_refused_before_sending() {
        assert!(matches!(write_chunks(vec![Item::new()], Vec::new()), Err(StoreError::Invalid(_))));
        assert!(matches!(write_chunks(Vec::new(), vec![Key::new("", "")]), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) <= BASE_BACKOFF && backoff(0) >= BASE_BACKOFF / 2);
        assert!(backoff(3) >= BASE_BACKOFF * 4);
        assert!(backoff(40) <= MAX_BACKOFF);
    }
}
