//! The table's key schema, declared once. Both adapters, `template.yaml` and
//! the access-pattern documentation (`docs/ACCESS_PATTERNS.md`) follow it.

/// A global secondary index: its name and key attributes (both strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

/// The table's keys, indexes and TTL attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSchema {
    pub pk: &'static str,
    pub sk: &'static str,
    pub indexes: &'static [IndexDef],
    /// Epoch seconds after which the item is treated as absent.
    pub ttl: &'static str,
}

impl TableSchema {
    /// The index with this name.
    pub fn index(&self, name: &str) -> Option<&'static IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }
}

/// Listings by entity type (users, leads by status, calls by day, ...).
pub const GSI1: IndexDef = IndexDef { name: "gsi1", pk: "gsi1pk", sk: "gsi1sk" };
/// The dial queue, sharded so writes spread over partitions.
pub const GSI2: IndexDef = IndexDef { name: "gsi2", pk: "gsi2pk", sk: "gsi2sk" };
/// Relations: a lead's calls, a salesperson's calls, available salespeople,
/// a user's WebSocket connections, running imports by last progress.
pub const GSI3: IndexDef = IndexDef { name: "gsi3", pk: "gsi3pk", sk: "gsi3sk" };

/// The one table.
pub const TABLE: TableSchema = TableSchema { pk: "pk", sk: "sk", indexes: &[GSI1, GSI2, GSI3], ttl: "expires_at" };
