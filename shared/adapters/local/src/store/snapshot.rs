//! Consistent copies of a live database (`ibrat backup`): one redb read
//! transaction sees a single committed state while writers go on, and every
//! table is copied from it into a fresh database file. Readers never block
//! writers in redb, so a backup does not pause the server.

use std::path::Path;

use ibrat_ports::store::schema::TABLE;
use redb::{Database, ReadTransaction, ReadableTable, TableHandle, WriteTransaction};

use super::redb_store::{db_err, index_table, RedbStore, ITEMS, META};

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the snapshot file {0} exists already")]
    Exists(String),
    #[error("the database could not be read or the snapshot written: {0}")]
    Store(#[from] ibrat_ports::StoreError),
    #[error("the database holds a table `{0}` this version does not know, so it cannot be copied whole")]
    UnknownTable(String),
}

/// What a snapshot copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Items (the base table's entries).
    pub items: u64,
    /// Entries over every table (items, index entries, metadata).
    pub entries: u64,
}

impl RedbStore {
    /// Writes the database as of one instant into a new file at `path`
    /// (which must not exist). Blocking: call it off the async threads.
    pub fn snapshot_to(&self, path: &Path) -> Result<SnapshotSummary, SnapshotError> {
        if path.exists() {
            return Err(SnapshotError::Exists(path.display().to_string()));
        }
        let source = self.inner.db.begin_read().map_err(db_err)?;
        check_tables_known(&source)?;
        let target = Database::create(path).map_err(db_err)?;
        let tx = target.begin_write().map_err(db_err)?;
        let mut summary = SnapshotSummary::default();
        summary.items = copy_bytes_table(&source, &tx, ITEMS)?;
        summary.entries = summary.items;
        for index in TABLE.indexes {
            summary.entries += copy_index(&source, &tx, index.name)?;
        }
        {
            let from = source.open_table(META).map_err(db_err)?;
            let mut to = tx.open_table(META).map_err(db_err)?;
            for entry in from.iter().map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                to.insert(k.value(), v.value()).map_err(db_err)?;
                summary.entries += 1;
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(summary)
    }
}

/// Refuses to copy a database with a table the copy would leave out.
fn check_tables_known(source: &ReadTransaction) -> Result<(), SnapshotError> {
    for table in source.list_tables().map_err(db_err)? {
        let name = table.name();
        let known = name == ITEMS.name() || name == META.name() || TABLE.indexes.iter().any(|i| i.name == name);
        if !known {
            return Err(SnapshotError::UnknownTable(name.to_owned()));
        }
    }
    Ok(())
}

fn copy_bytes_table(
    source: &ReadTransaction,
    tx: &WriteTransaction,
    def: redb::TableDefinition<&'static [u8], &'static [u8]>,
) -> Result<u64, SnapshotError> {
    let from = source.open_table(def).map_err(db_err)?;
    let mut to = tx.open_table(def).map_err(db_err)?;
    let mut copied = 0;
    for entry in from.iter().map_err(db_err)? {
        let (k, v) = entry.map_err(db_err)?;
        to.insert(k.value(), v.value()).map_err(db_err)?;
        copied += 1;
    }
    Ok(copied)
}

fn copy_index(source: &ReadTransaction, tx: &WriteTransaction, name: &str) -> Result<u64, SnapshotError> {
    let def = index_table(name);
    let from = source.open_table(def).map_err(db_err)?;
    let mut to = tx.open_table(def).map_err(db_err)?;
    let mut copied = 0;
    for entry in from.iter().map_err(db_err)? {
        let (k, _) = entry.map_err(db_err)?;
        to.insert(k.value(), ()).map_err(db_err)?;
        copied += 1;
    }
    Ok(copied)
}
