//! A store that "crashes": from its `n`th write on, every write fails as an
//! unreachable store would, as if the process had stopped between two
//! writes. Reads keep working. Tests then run the repairs on the kit's own
//! store (the same data, as after a restart) and check what they mend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use ibrat_ports::{Condition, Item, Key, Page, Query, Store, StoreError, Update, WriteOp};

/// See the module doc.
pub struct CrashingStore {
    inner: Arc<dyn Store>,
    /// Writes accepted so far.
    writes: AtomicU64,
    /// The write (from 1) that fails first; 0 never.
    crash_at: AtomicU64,
}

impl CrashingStore {
    /// Never crashes until told to.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        CrashingStore { inner, writes: AtomicU64::new(0), crash_at: AtomicU64::new(0) }
    }

    /// The `n`th write from now (1: the next one) and every later one fail.
    pub fn crash_at_write(&self, n: u64) {
        self.crash_at.store(self.writes.load(Ordering::SeqCst) + n.max(1), Ordering::SeqCst);
    }

    /// Writes accepted so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    fn write(&self) -> Result<(), StoreError> {
        let crash_at = self.crash_at.load(Ordering::SeqCst);
        let n = self.writes.load(Ordering::SeqCst) + 1;
        if crash_at != 0 && n >= crash_at {
            return Err(StoreError::Unavailable("the process stopped (a crash point of the test)".into()));
        }
        self.writes.store(n, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl Store for CrashingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.write()?;
        self.inner.put(item, condition).await
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, StoreError> {
        self.write()?;
        self.inner.update(key, update, condition).await
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        self.write()?;
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.write()?;
        self.inner.transact_write(ops).await
    }

    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<Key>) -> Result<(), StoreError> {
        self.write()?;
        self.inner.batch_write(puts, deletes).await
    }

    async fn put_many(
        &self,
        items: Vec<(Item, Option<Condition>)>,
    ) -> Result<Vec<Result<(), Option<Item>>>, StoreError> {
        self.write()?;
        self.inner.put_many(items).await
    }
}
