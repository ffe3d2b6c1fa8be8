//! Rejected rows of an import: one item per line (`IMPORT#<id>` /
//! `ERR#<line>`), written unconditionally so a re-run rewrites the same
//! items, read back for the import's summary and its CSV download.

use ibrat_domain::ImportId;
use ibrat_ports::{Cursor, Item, Query, SkCondition, Store, StoreError};

use super::keys;
use crate::import::{RejectKind, RowError};

/// The item of one rejected row.
pub fn to_item(id: &ImportId, e: &RowError) -> Item {
    Item::with_key(&keys::import_error(id, e.line))
        .with("line", e.line)
        .with("kind", e.kind.as_str())
        .with("column", e.column.as_str())
        .with("reason", e.reason.as_str())
        .with("value", e.value.as_str())
}

/// Stores rejected rows, emptying `rejects` (unconditional puts: a re-run
/// rewrites the same items).
pub async fn store(store: &dyn Store, id: &ImportId, rejects: &mut Vec<RowError>) -> Result<(), StoreError> {
    if rejects.is_empty() {
        return Ok(());
    }
    let items = rejects.drain(..).map(|e| to_item(id, &e)).collect();
    store.batch_write(items, Vec::new()).await
}

/// Reads a rejected-row item (None when it is not one).
pub fn from_item(item: &Item) -> Option<RowError> {
    Some(RowError {
        line: item.n("line")?.max(0) as u64,
        kind: RejectKind::parse(item.s("kind")?)?,
        column: item.s("column").unwrap_or_default().to_owned(),
        reason: item.s("reason").unwrap_or_default().to_owned(),
        value: item.s("value").unwrap_or_default().to_owned(),
    })
}

/// A page of an import's rejected rows, in line order.
pub async fn page(
    store: &dyn Store,
    id: &ImportId,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<RowError>, Option<Cursor>), StoreError> {
    let q = Query::partition(keys::import_pk(id))
        .sk(SkCondition::BeginsWith(keys::IMPORT_ERROR_PREFIX.to_owned()))
        .limit(limit)
        .after(cursor);
    let page = store.query(&q).await?;
    Ok((page.items.iter().filter_map(from_item).collect(), page.cursor))
}
