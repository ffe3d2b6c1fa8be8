//! [`RedbStore`]: the `Store` port on redb.
//!
//! Layout: one table `items` from encoded (pk, sk) to the postcard-encoded
//! item, and per index one table from encoded (index pk, index sk, pk, sk)
//! to nothing. Every write updates the item and its index entries in the
//! same redb write transaction, so indexes are never stale, and a query is
//! one range scan whose cost depends on the page size, not the table size.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use ibrat_ports::store::schema::TABLE;
use ibrat_ports::store::{CancelReason, MAX_TRANSACTION_ITEMS};
use ibrat_ports::{Clock, Condition, Item, Key, Page, Query, Store, StoreError, SystemClock, Update, WriteOp};
use redb::{Database, Durability, ReadableTable, Table, TableDefinition, WriteTransaction};

use super::codec::{
    base_key, base_key_of_index_entry, decode_item, encode_item, index_entry, partition_prefix, validate_item,
    validate_key,
};
use super::range::{decode_cursor, encode_cursor, KeyRange};

/// Items by encoded base key.
pub(super) const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// Format marker, so a future layout change is detected instead of misread.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const FORMAT_KEY: &str = "format";
const FORMAT_VERSION: u64 = 1;
/// Memory redb may use to cache pages (9/10 reads, 1/10 the write buffer of
/// a transaction). redb's default (1 GiB) lets a long import grow the
/// process without bound. Imports write leads in key order, so their
/// transactions touch few pages; reads past the cache come from the OS
/// page cache. The import bench measured 1M rows at 95 MB peak with this
/// (and at 311 MB, only 10% faster, with 256 MiB).
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// The redb table holding one index's entries.
pub(super) fn index_table(name: &str) -> TableDefinition<'_, &'static [u8], ()> {
    TableDefinition::new(name)
}

/// Maps any redb failure: corruption is `Corrupt`, everything else is an
/// outage the caller may retry.
pub(super) fn db_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(msg) => StoreError::Corrupt(msg),
        other => StoreError::Unavailable(Box::new(other)),
    }
}

/// Hides expired items: they are absent to reads and conditions.
fn visible(item: Option<&Item>, now: i64) -> Option<&Item> {
    item.filter(|i| !i.is_expired(now))
}

/// Checks a write's condition against the visible item.
fn check(condition: Option<&Condition>, current: Option<&Item>) -> Result<(), StoreError> {
    match condition {
        Some(c) if !c.eval(current) => Err(StoreError::ConditionFailed { item: current.cloned().map(Box::new) }),
        _ => Ok(()),
    }
}

/// Applies an update to the visible item (a fresh one when absent) and
/// checks the result is still a valid item with the same key.
fn updated(key: &Key, update: &Update, current: Option<&Item>) -> Result<Item, StoreError> {
    let base = current.cloned().unwrap_or_else(|| Item::with_key(key));
    let item = update.apply(base)?;
    if item.key().as_ref() != Some(key) {
        return Err(StoreError::Invalid(format!("an update cannot change `{}` or `{}`", TABLE.pk, TABLE.sk)));
    }
    validate_item(&item)?;
    Ok(item)
}

/// The tables of one write transaction.
struct Tables<'tx> {
    items: Table<'tx, &'static [u8], &'static [u8]>,
    indexes: Vec<Table<'tx, &'static [u8], ()>>,
}

impl<'tx> Tables<'tx> {
    fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        let items = tx.open_table(ITEMS).map_err(db_err)?;
        let indexes = TABLE
            .indexes
            .iter()
            .map(|i| tx.open_table(index_table(i.name)).map_err(db_err))
            .collect::<Result<_, _>>()?;
        Ok(Tables { items, indexes })
    }

    /// The stored item, expired or not.
    fn load(&self, key: &[u8]) -> Result<Option<Item>, StoreError> {
        match self.items.get(key).map_err(db_err)? {
            Some(guard) => decode_item(guard.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Writes `new` over `old` (the stored item, expired or not), moving
    /// index entries whose keys changed.
    fn store(&mut self, key: &[u8], old: Option<&Item>, new: &Item) -> Result<(), StoreError> {
        let bytes = encode_item(new)?;
        for (index, table) in TABLE.indexes.iter().zip(self.indexes.iter_mut()) {
            let before = old.and_then(|o| index_entry(index, o, key));
            let after = index_entry(index, new, key);
            if before == after {
                continue;
            }
            if let Some(b) = before {
                table.remove(b.as_slice()).map_err(db_err)?;
            }
            if let Some(a) = after {
                table.insert(a.as_slice(), ()).map_err(db_err)?;
            }
        }
        self.items.insert(key, bytes.as_slice()).map_err(db_err)?;
        Ok(())
    }

    /// Removes a stored item and its index entries.
    fn erase(&mut self, key: &[u8], old: &Item) -> Result<(), StoreError> {
        for (index, table) in TABLE.indexes.iter().zip(self.indexes.iter_mut()) {
            if let Some(entry) = index_entry(index, old, key) {
                table.remove(entry.as_slice()).map_err(db_err)?;
            }
        }
        self.items.remove(key).map_err(db_err)?;
        Ok(())
    }
}

pub(super) struct Inner {
    pub(super) db: Database,
}

impl Inner {
    /// Runs `f` in one durable write transaction: committed when it returns
    /// Ok, rolled back when it returns Err.
    fn write<R>(&self, f: impl FnOnce(&mut Tables<'_>) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut tx = self.db.begin_write().map_err(db_err)?;
        tx.set_durability(Durability::Immediate);
        let result = match Tables::open(&tx) {
            Ok(mut tables) => f(&mut tables),
            Err(e) => Err(e),
        };
        match result {
            Ok(value) => {
                tx.commit().map_err(db_err)?;
                Ok(value)
            }
            Err(e) => {
                // The error being reported matters more than a failed abort.
                let _ = tx.abort();
                Err(e)
            }
        }
    }

    fn get_many(&self, keys: &[Key], now: i64) -> Result<Vec<Item>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let items = tx.open_table(ITEMS).map_err(db_err)?;
        let mut seen = HashSet::with_capacity(keys.len());
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            validate_key(key)?;
            if !seen.insert(key) {
                continue;
            }
            if let Some(guard) = items.get(base_key(key).as_slice()).map_err(db_err)? {
                let item = decode_item(guard.value())?;
                if !item.is_expired(now) {
                    out.push(item);
                }
            }
        }
        Ok(out)
    }

    fn query(&self, query: &Query, now: i64) -> Result<Page, StoreError> {
        if query.pk.is_empty() {
            return Err(StoreError::Invalid("query partition key must not be empty".into()));
        }
        if query.limit == Some(0) {
            return Err(StoreError::Invalid("query limit must be at least 1".into()));
        }
        let partition = partition_prefix(&query.pk);
        let mut range = KeyRange::for_query(&partition, &query.sk);
        if let Some(cursor) = &query.cursor {
            range.continue_after(decode_cursor(cursor, &partition)?, query.forward);
        }
        let tx = self.db.begin_read().map_err(db_err)?;
        let items = tx.open_table(ITEMS).map_err(db_err)?;
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut page = Page::default();
        if range.is_empty() {
            return Ok(page);
        }
        let mut last: Option<Vec<u8>> = None;
        let mut push = |entry_key: &[u8], item: Item| -> bool {
            if item.is_expired(now) {
                return true;
            }
            if page.items.len() == limit {
                // Another visible item follows the full page.
                page.cursor = last.take().map(|k| encode_cursor(&k));
                return false;
            }
            page.items.push(item);
            last = Some(entry_key.to_vec());
            true
        };
        match query.index {
            None => {
                let iter = items.range::<&[u8]>(range.bounds()).map_err(db_err)?;
                let iter: Box<dyn Iterator<Item = _>> =
                    if query.forward { Box::new(iter) } else { Box::new(iter.rev()) };
                for entry in iter {
                    let (k, v) = entry.map_err(db_err)?;
                    if !push(k.value(), decode_item(v.value())?) {
                        break;
                    }
                }
            }
            Some(name) => {
                let index = TABLE.index(name).ok_or_else(|| StoreError::Invalid(format!("no index named `{name}`")))?;
                let table = tx.open_table(index_table(index.name)).map_err(db_err)?;
                let iter = table.range::<&[u8]>(range.bounds()).map_err(db_err)?;
                let iter: Box<dyn Iterator<Item = _>> =
                    if query.forward { Box::new(iter) } else { Box::new(iter.rev()) };
                for entry in iter {
                    let (k, _) = entry.map_err(db_err)?;
                    let entry_key = k.value();
                    let base = base_key_of_index_entry(entry_key)?;
                    let guard = items
                        .get(base)
                        .map_err(db_err)?
                        .ok_or_else(|| StoreError::Corrupt(format!("index `{name}` names a missing item")))?;
                    if !push(entry_key, decode_item(guard.value())?) {
                        break;
                    }
                }
            }
        }
        Ok(page)
    }

    fn transact(&self, ops: Vec<WriteOp>, now: i64) -> Result<(), StoreError> {
        if ops.is_empty() || ops.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Invalid(format!(
                "a transaction takes 1 to {MAX_TRANSACTION_ITEMS} operations, not {}",
                ops.len()
            )));
        }
        let mut keys = HashSet::with_capacity(ops.len());
        for op in &ops {
            let key = match op {
                WriteOp::Put { item, .. } => validate_item(item)?,
                other => other.key(),
            };
            validate_key(&key)?;
            if !keys.insert(key) {
                return Err(StoreError::Invalid("two operations on one item in one transaction".into()));
            }
        }
        self.write(|t| {
            let mut failed = Vec::new();
            for (index, op) in ops.iter().enumerate() {
                let key = op.key();
                let kb = base_key(&key);
                let stored = t.load(&kb)?;
                let current = visible(stored.as_ref(), now);
                let condition = match op {
                    WriteOp::Put { condition, .. }
                    | WriteOp::Update { condition, .. }
                    | WriteOp::Delete { condition, .. } => condition.as_ref(),
                    WriteOp::Check { condition, .. } => Some(condition),
                };
                if check(condition, current).is_err() {
                    failed.push(CancelReason { index, item: current.cloned() });
                    continue;
                }
                if !failed.is_empty() {
                    // Cancelled anyway; keep evaluating conditions only.
                    continue;
                }
                match op {
                    WriteOp::Put { item, .. } => t.store(&kb, stored.as_ref(), item)?,
                    WriteOp::Update { update, .. } => {
                        let new = updated(&key, update, current)?;
                        t.store(&kb, stored.as_ref(), &new)?;
                    }
                    WriteOp::Delete { .. } => {
                        if let Some(old) = &stored {
                            t.erase(&kb, old)?;
                        }
                    }
                    WriteOp::Check { .. } => {}
                }
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(StoreError::TransactionCanceled { failed })
            }
        })
    }
}

/// The `Store` port on an embedded redb database: durable on disk for local
/// mode, or in memory for tests. Cheap to clone (clones share the database).
#[derive(Clone)]
pub struct RedbStore {
    pub(super) inner: Arc<Inner>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens (or creates) the database file at `path`, creating its parent
    /// folder. Every commit is fsynced, so an acknowledged write survives a
    /// crash. Only one `RedbStore` may hold a file at a time.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        }
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(path).map_err(db_err)?;
        Self::init(db)
    }

    /// A fresh database held in memory and lost on drop: for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new()).map_err(db_err)?;
        Self::init(db)
    }

    /// Uses `clock` to decide which items have expired (TTL), so tests with
    /// a manual clock see expiry when they move time forward.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        RedbStore { clock, ..self }
    }

    /// Creates the tables so reads never find them missing, and checks the
    /// on-disk format.
    fn init(db: Database) -> Result<Self, StoreError> {
        let inner = Inner { db };
        let tx = inner.db.begin_write().map_err(db_err)?;
        {
            let mut meta = tx.open_table(META).map_err(db_err)?;
            let format = meta.get(FORMAT_KEY).map_err(db_err)?.map(|g| g.value());
            match format {
                None => {
                    meta.insert(FORMAT_KEY, FORMAT_VERSION).map_err(db_err)?;
                }
                Some(FORMAT_VERSION) => {}
                Some(other) => {
                    return Err(StoreError::Corrupt(format!(
                        "database format {other} is not the supported format {FORMAT_VERSION}"
                    )))
                }
            }
            Tables::open(&tx)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(RedbStore { inner: Arc::new(inner), clock: Arc::new(SystemClock) })
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Runs blocking redb work off the async worker threads.
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner, i64) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let inner = self.inner.clone();
        let now = self.now();
        tokio::task::spawn_blocking(move || f(&inner, now)).await.map_err(|e| StoreError::Unavailable(Box::new(e)))?
    }
}

#[async_trait]
impl Store for RedbStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.run(move |inner, now| Ok(inner.get_many(std::slice::from_ref(&key), now)?.pop())).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        self.run(move |inner, now| inner.get_many(&keys, now)).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let key = base_key(&validate_item(&item)?);
        self.run(move |inner, now| {
            inner.write(|t| {
                let stored = t.load(&key)?;
                check(condition.as_ref(), visible(stored.as_ref(), now))?;
                t.store(&key, stored.as_ref(), &item)
            })
        })
        .await
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, StoreError> {
        validate_key(key)?;
        let key = key.clone();
        self.run(move |inner, now| {
            inner.write(|t| {
                let kb = base_key(&key);
                let stored = t.load(&kb)?;
                let current = visible(stored.as_ref(), now);
                check(condition.as_ref(), current)?;
                let new = updated(&key, &update, current)?;
                t.store(&kb, stored.as_ref(), &new)?;
                Ok(new)
            })
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let key = base_key(key);
        self.run(move |inner, now| {
            inner.write(|t| {
                let stored = t.load(&key)?;
                let current = visible(stored.as_ref(), now).cloned();
                check(condition.as_ref(), current.as_ref())?;
                if let Some(old) = &stored {
                    t.erase(&key, old)?;
                }
                Ok(current)
            })
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let query = query.clone();
        self.run(move |inner, now| inner.query(&query, now)).await
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.run(move |inner, now| inner.transact(ops, now)).await
    }

    /// One write transaction for the whole batch (puts, then deletes).
    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<Key>) -> Result<(), StoreError> {
        let mut put_keys = Vec::with_capacity(puts.len());
        for item in &puts {
            put_keys.push(base_key(&validate_item(item)?));
        }
        for key in &deletes {
            validate_key(key)?;
        }
        if puts.is_empty() && deletes.is_empty() {
            return Ok(());
        }
        self.run(move |inner, _now| {
            inner.write(|t| {
                // In key order (stable, so a repeated key keeps its last
                // value), which keeps the B-tree's pages hot.
                let mut order: Vec<usize> = (0..puts.len()).collect();
                order.sort_by(|&a, &b| put_keys[a].cmp(&put_keys[b]));
                for i in order {
                    let stored = t.load(&put_keys[i])?;
                    t.store(&put_keys[i], stored.as_ref(), &puts[i])?;
                }
                for key in &deletes {
                    let kb = base_key(key);
                    if let Some(old) = t.load(&kb)? {
                        t.erase(&kb, &old)?;
                    }
                }
                Ok(())
            })
        })
        .await
    }

    /// One write transaction for all items, each on its own condition.
    /// Items are applied in key order (a repeated key in request order), so
    /// a large batch of random keys walks the B-tree once, front to back.
    async fn put_many(
        &self,
        items: Vec<(Item, Option<Condition>)>,
    ) -> Result<Vec<Result<(), Option<Item>>>, StoreError> {
        let mut keys = Vec::with_capacity(items.len());
        for (item, _) in &items {
            keys.push(base_key(&validate_item(item)?));
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.run(move |inner, now| {
            inner.write(|t| {
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
                let mut results = vec![Ok(()); items.len()];
                for i in order {
                    let (key, (item, condition)) = (&keys[i], &items[i]);
                    let stored = t.load(key)?;
                    match check(condition.as_ref(), visible(stored.as_ref(), now)) {
                        Ok(()) => t.store(key, stored.as_ref(), item)?,
                        Err(StoreError::ConditionFailed { item }) => results[i] = Err(item.map(|b| *b)),
                        Err(other) => return Err(other),
                    }
                }
                Ok(results)
            })
        })
        .await
    }
}
