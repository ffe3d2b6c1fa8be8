//! The single-table store port, shaped like DynamoDB so local mode exercises
//! exactly the access patterns production uses.
//!
//! Semantics every adapter must honour (checked by the conformance suite):
//! - Items are maps of attribute name to [`Value`]; every item has the string
//!   attributes `pk` and `sk` ([`schema::TABLE`]).
//! - An item whose TTL attribute (`expires_at`, epoch seconds) is in the past
//!   is absent to every read and to every condition.
//! - Index entries exist only for items that carry both of the index's key
//!   attributes (sparse indexes).
//! - `update` creates the item when it does not exist (upsert), unless the
//!   condition says otherwise.

mod condition;
mod item;
pub mod schema;

pub use condition::{Condition, SkCondition, UpdateError};
pub use item::{Item, Key, Value};

use async_trait::async_trait;

/// An opaque position in a query's results, handed back to continue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

/// A query on the base table or on one index.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `None` for the base table, or an index name from [`schema::TABLE`].
    pub index: Option<&'static str>,
    /// The partition key value.
    pub pk: String,
    /// Restriction on the sort key.
    pub sk: SkCondition,
    /// Ascending sort-key order when true.
    pub forward: bool,
    /// At most this many items per page.
    pub limit: Option<usize>,
    /// Continue after the page that returned this cursor.
    pub cursor: Option<Cursor>,
}

impl Query {
    /// All items of a base-table partition, ascending.
    pub fn partition(pk: impl Into<String>) -> Self {
        Query { index: None, pk: pk.into(), sk: SkCondition::Any, forward: true, limit: None, cursor: None }
    }

    /// All items of one index partition, ascending.
    pub fn index(index: &'static str, pk: impl Into<String>) -> Self {
        Query { index: Some(index), ..Self::partition(pk) }
    }

    /// Restricts the sort key.
    pub fn sk(mut self, sk: SkCondition) -> Self {
        self.sk = sk;
        self
    }

    /// Descending order.
    pub fn reverse(mut self) -> Self {
        self.forward = false;
        self
    }

    /// Page size.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues from a previous page.
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow.
    pub cursor: Option<Cursor>,
}

/// A set of attribute changes, applied atomically to one item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    /// Attributes to set.
    pub set: Vec<(String, Value)>,
    /// Attributes to set only when absent (`if_not_exists`).
    pub set_if_absent: Vec<(String, Value)>,
    /// Numeric attributes to add to (absent counts as zero): atomic counters.
    pub add: Vec<(String, i64)>,
    /// Attributes to remove.
    pub remove: Vec<String>,
}

impl Update {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an attribute.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.push((name.into(), value.into()));
        self
    }

    /// Sets an attribute unless it already has a value.
    pub fn set_if_absent(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set_if_absent.push((name.into(), value.into()));
        self
    }

    /// Sets an attribute, or removes it when `value` is None.
    pub fn set_opt<V: Into<Value>>(self, name: impl Into<String>, value: Option<V>) -> Self {
        match value {
            Some(v) => self.set(name, v),
            None => self.remove(name),
        }
    }

    /// Adds to a numeric attribute.
    pub fn add(mut self, name: impl Into<String>, delta: i64) -> Self {
        self.add.push((name.into(), delta));
        self
    }

    /// Removes an attribute.
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.remove.push(name.into());
        self
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.set_if_absent.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// One write inside a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Writes nothing; only the condition must hold.
    Check {
        key: Key,
        condition: Condition,
    },
}

impl WriteOp {
    /// The key the operation touches.
    pub fn key(&self) -> Key {
        match self {
            WriteOp::Put { item, .. } => item.key().unwrap_or_else(|| Key::new("", "")),
            WriteOp::Update { key, .. } | WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key.clone(),
        }
    }
}

/// Why a transaction was cancelled, for one of its operations.
#[derive(Debug, Clone, PartialEq)]
pub struct CancelReason {
    /// Position of the operation in the request.
    pub index: usize,
    /// The item as it was, when the condition failed on an existing item.
    pub item: Option<Item>,
}

/// Store failures, typed so callers can tell a lost race from an outage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's condition did not hold; nothing was written. Carries the
    /// item as it was (None when it did not exist), so the caller can tell
    /// why without a second read.
    #[error("condition failed")]
    ConditionFailed { item: Option<Box<Item>> },
    /// A transaction was cancelled and wrote nothing. `failed` lists the
    /// operations whose conditions failed; empty means a conflict with
    /// another transaction (retry).
    #[error("transaction cancelled ({} condition(s) failed)", failed.len())]
    TransactionCanceled { failed: Vec<CancelReason> },
    /// The request itself is not acceptable (too many items, bad key, ...).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// Throughput exceeded; retry later.
    #[error("store throttled")]
    Throttled,
    /// The store could not be reached or failed; retry later.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored data could not be decoded.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

/// An update that does not fit its item is refused like any invalid
/// request, as DynamoDB refuses it (a `ValidationException`).
impl From<UpdateError> for StoreError {
    fn from(e: UpdateError) -> Self {
        StoreError::Invalid(e.to_string())
    }
}

impl StoreError {
    /// True when trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Throttled | StoreError::Unavailable(_) => true,
            StoreError::TransactionCanceled { failed } => failed.is_empty(),
            _ => false,
        }
    }

    /// True for a failed condition, in a single write or a transaction.
    pub fn is_condition_failed(&self) -> bool {
        match self {
            StoreError::ConditionFailed { .. } => true,
            StoreError::TransactionCanceled { failed } => !failed.is_empty(),
            _ => false,
        }
    }
}

/// Transactions accept at most this many operations (DynamoDB's limit).
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Batch writes are sent in requests of at most this many items.
pub const MAX_BATCH_WRITE_ITEMS: usize = 25;
/// Batch gets are sent in requests of at most this many keys.
pub const MAX_BATCH_GET_ITEMS: usize = 100;

/// The single table every function shares.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads one item; expired items are absent.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Reads many items (any number; chunked by the adapter). Missing keys
    /// are simply not returned; order is not guaranteed.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError>;

    /// Writes a whole item when the condition holds.
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError>;

    /// Changes attributes when the condition holds; returns the new item.
    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, StoreError>;

    /// Deletes an item when the condition holds; returns the old item.
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError>;

    /// Reads a page of one partition of the table or of an index.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    /// Applies up to [`MAX_TRANSACTION_ITEMS`] writes, all or none. Two
    /// operations on one key in one transaction are refused as `Invalid`.
    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// Unconditional puts and deletes of any number of items, sent in requests
    /// of at most [`MAX_BATCH_WRITE_ITEMS`], retrying unprocessed items with
    /// backoff. Not atomic as a whole.
    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<Key>) -> Result<(), StoreError>;

    /// Conditional puts of many independent items: each succeeds or fails on
    /// its own condition, and the result says which, in request order (Err
    /// carries the existing item, as [`StoreError::ConditionFailed`] does).
    /// Adapters make this as fast as their engine allows (one local
    /// transaction; parallel requests on DynamoDB).
    async fn put_many(
        &self,
        items: Vec<(Item, Option<Condition>)>,
    ) -> Result<Vec<Result<(), Option<Item>>>, StoreError>;
}
