//! Rejected rows as a CSV download, read page by page from their items
//! (`repo::import_errors`).

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_domain::ImportId;
use ibrat_ports::{Cursor, Store, StoreError};
use std::sync::Arc;

use crate::export::csv_line;
use crate::repo::import_errors::page;

/// Rejected rows read per page of the download.
const PAGE: usize = 500;

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
