//! Rejected rows: one item per line (`IMPORT#<id>` / `ERR#<line>`), written
//! unconditionally so a re-run rewrites the same items, read back for the
//! import's summary and streamed as a CSV download.

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_domain::ImportId;
use ibrat_ports::{Cursor, Item, Query, SkCondition, Store, StoreError};
use std::sync::Arc;

use super::row::{RejectKind, RowError};
use crate::export::csv_line;
use crate::repo::keys;

/// Rejected rows read per page of the download.
const PAGE: usize = 500;

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

/// The download's header line.
pub const HEADER: [&str; 5] = ["line", "kind", "column", "reason", "value"];

/// Every rejected row as CSV (header first), read page by page so the
/// download never holds the whole list. Cells are escaped against formula
/// injection.
pub fn stream(store: Arc<dyn Store>, id: ImportId) -> BoxStream<'static, Result<Bytes, StoreError>> {
    let header = stream::once(async { Ok(Bytes::from(csv_line(HEADER))) });
    let rows = stream::try_unfold(Some(None::<Cursor>), move |state| {
        let store = store.clone();
        let id = id.clone();
        async move {
            let Some(cursor) = state else { return Ok(None) };
            let (errors, next) = page(store.as_ref(), &id, PAGE, cursor).await?;
            let mut out = Vec::new();
            for e in &errors {
                let line = e.line.to_string();
                out.extend(csv_line([line.as_str(), e.kind.as_str(), &e.column, &e.reason, &e.value]));
            }
            Ok(Some((Bytes::from(out), next.map(Some))))
        }
    });
    header.chain(rows).boxed()
}
