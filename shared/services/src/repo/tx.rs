//! A transaction built one operation at a time, handing back a handle per
//! operation, so the caller asks "did *this* write's condition fail?"
//! instead of counting positions in a vector (which breaks silently the day
//! an operation is added in the middle).

use ibrat_ports::{Store, StoreError, WriteOp};

/// Writes committed together or not at all.
#[derive(Debug, Default)]
pub struct Transaction {
    ops: Vec<WriteOp>,
}

/// Names one operation of a [`Transaction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpHandle(usize);

impl OpHandle {
    /// True when `error` says this operation's condition failed.
    pub fn failed_in(self, error: &StoreError) -> bool {
        match error {
            StoreError::TransactionCanceled { failed } => failed.iter().any(|f| f.index == self.0),
            _ => false,
        }
    }
}

impl Transaction {
    pub fn new() -> Self {
        Transaction::default()
    }

    /// Adds a write; the handle tells later whether it was the one refused.
    pub fn push(&mut self, op: WriteOp) -> OpHandle {
        self.ops.push(op);
        OpHandle(self.ops.len() - 1)
    }

    /// Commits every write atomically.
    pub async fn commit(self, store: &dyn Store) -> Result<(), StoreError> {
        store.transact_write(self.ops).await
    }
}

/// The positions of the refused operations (for error messages).
pub fn failed_positions(error: &StoreError) -> Vec<usize> {
    match error {
        StoreError::TransactionCanceled { failed } => failed.iter().map(|f| f.index).collect(),
        _ => Vec::new(),
    }
}
