//! Cursor pagination over one or several partitions. The client sees one
//! opaque token (base64url JSON) naming the partition being read and the
//! store's own cursor within it, so a listing that walks several partitions
//! (leads by status, calls by day) resumes exactly where it stopped.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ibrat_ports::{Cursor, Item, Query, Store, StoreError};
use serde::{Deserialize, Serialize};

/// Most store queries one page request may make, bounding the cost of a
/// very selective filter (the page then ends early with a cursor).
pub const MAX_QUERIES_PER_PAGE: usize = 25;
/// Largest page a client may ask for.
pub const MAX_PAGE: usize = 200;
/// Page size when the client names none.
pub const DEFAULT_PAGE: usize = 50;

/// One page of a listing, as every list operation hands it back.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass it back for the next page (None: this was the last).
    pub next_cursor: Option<String>,
}

/// The decoded client cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    /// Which partition the walk is in (meaning is up to the caller).
    #[serde(rename = "p")]
    pub part: String,
    /// The store's cursor inside that partition (None: its start).
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<String>,
}

impl PageToken {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a client cursor; None when it is not one of ours.
    pub fn decode(s: &str) -> Option<Self> {
        if s.len() > 4096 {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s.trim()).ok()?).ok()
    }

    /// The store cursor to continue from.
    pub fn store_cursor(&self) -> Option<Cursor> {
        self.inner.clone().map(Cursor)
    }
}

/// Clamps a requested page size.
pub fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// One partition walk step result.
pub struct Walk<T> {
    pub items: Vec<T>,
    /// The store cursor to resume this partition (None: it is exhausted).
    pub next: Option<Cursor>,
    /// True when the walk stopped because the page is full or the query
    /// budget ran out, false when the partition ended.
    pub stopped: bool,
}

/// Reads matching items from one partition until `want` are collected, the
/// partition ends, or `budget` queries were spent. `map` turns an item into
/// a result, or None to skip it (filters).
pub async fn walk<T>(
    store: &dyn Store,
    base: &Query,
    start: Option<Cursor>,
    want: usize,
    budget: &mut usize,
    mut map: impl FnMut(&Item) -> Result<Option<T>, StoreError>,
) -> Result<Walk<T>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = start;
    loop {
        if out.len() >= want || *budget == 0 {
            let stopped = true;
            return Ok(Walk { items: out, next: cursor, stopped });
        }
        *budget -= 1;
        let q = base.clone().limit(want - out.len()).after(cursor.clone());
        let page = store.query(&q).await?;
        for item in &page.items {
            if let Some(v) = map(item)? {
                out.push(v);
            }
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(Walk { items: out, next: None, stopped: false }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let t = PageToken { part: "queued".into(), inner: Some("abc".into()) };
        assert_eq!(PageToken::decode(&t.encode()), Some(t));
        assert_eq!(PageToken::decode("!!!"), None);
        assert_eq!(PageToken::decode(""), None);
        assert_eq!(page_size(Some(0)), 1);
        assert_eq!(page_size(Some(10_000)), MAX_PAGE);
    }
}
