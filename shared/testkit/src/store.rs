//! A store that fails as an outage would, for chosen items or after some
//! healthy batch writes: everything else goes to the kit's store.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use ibrat_local::RedbStore;
use ibrat_ports::{Condition, Item, Key, Page, Query, Store, StoreError, Update, WriteOp};

/// Reads of the broken keys fail with `Throttled`; `put_many` fails with
/// `Unavailable` once its healthy calls are spent; the rest is the inner store.
pub struct FailingStore {
    inner: RedbStore,
    broken: Mutex<HashSet<Key>>,
    /// How many more `put_many` calls succeed (none set: all of them).
    put_many_left: Mutex<Option<usize>>,
}

impl FailingStore {
    pub fn new(inner: RedbStore) -> Self {
        FailingStore { inner, broken: Mutex::new(HashSet::new()), put_many_left: Mutex::new(None) }
    }

    /// `put_many` succeeds `healthy` more times, then fails as if the
    /// disk went away.
    pub fn fail_put_many_after(&self, healthy: usize) {
        *self.put_many_left.lock().unwrap_or_else(|e| e.into_inner()) = Some(healthy);
    }

    /// Every failure is forgotten: the store is healthy again.
    pub fn heal(&self) {
        self.broken.lock().unwrap_or_else(|e| e.into_inner()).clear();
        *self.put_many_left.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Reads of `key` fail from now on.
    pub fn break_reads(&self, key: Key) {
        self.broken.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
    }

    fn is_broken(&self, key: &Key) -> bool {
        self.broken.lock().unwrap_or_else(|e| e.into_inner()).contains(key)
    }
}

#[async_trait]
impl Store for FailingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        if self.is_broken(key) {
            return Err(StoreError::Throttled);
        }
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.inner.put(item, condition).await
    }
    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, StoreError> {
        self.inner.update(key, update, condition).await
    }
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact_write(ops).await
    }
    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<Key>) -> Result<(), StoreError> {
        self.inner.batch_write(puts, deletes).await
    }
    async fn put_many(
        &self,
        items: Vec<(Item, Option<Condition>)>,
    ) -> Result<Vec<Result<(), Option<Item>>>, StoreError> {
        {
            let mut left = self.put_many_left.lock().unwrap_or_else(|e| e.into_inner());
            match left.as_mut() {
                Some(0) => return Err(StoreError::Unavailable("the disk went away".into())),
                Some(n) => *n -= 1,
                None => {}
            }
        }
        self.inner.put_many(items).await
    }
}
