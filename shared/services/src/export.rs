//! CSV exports of leads and calls, streamed page by page so memory stays
//! flat whatever the table holds. Where a response cannot stream (the `api`
//! Lambda: `lambda_http` buffers it, and API Gateway refuses more than
//! 6 MB) the same stream is written to object storage instead
//! ([`to_blob`]) and the client gets a presigned download link.
//!
//! Formula injection: a cell that begins with `=`, `+`, `-`, `@`, a tab or
//! a carriage return is prefixed with a single quote, so spreadsheets show
//! it as text instead of evaluating it. Phone numbers start with `+` and
//! are escaped too (`'+998901234567`): the rule is applied without
//! exceptions, and spreadsheets display the number unchanged.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_domain::{Call, Lead, LeadStatus};
use ibrat_ports::store::schema::GSI1;
use ibrat_ports::{Cursor, Item, Query, SkCondition, Store, StoreError};

use crate::context::Deps;
use crate::repo::{calls as call_repo, keys, leads as lead_repo};

/// Items read per query while exporting.
const PAGE: usize = 500;
/// Longest span of days one calls export may cover.
pub const MAX_CALL_EXPORT_DAYS: i64 = 366;

/// How long an export's download link stays valid.
pub const DOWNLOAD_URL_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Why an export request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Validation(String),
    /// Writing the export to object storage failed (its content: the
    /// table; or the storage itself).
    #[error("the export could not be stored: {0}")]
    Blob(#[from] ibrat_ports::BlobError),
}

impl ExportError {
    /// The table error behind a failed export, when that is the cause.
    pub fn store_cause(&self) -> Option<&StoreError> {
        match self {
            ExportError::Blob(ibrat_ports::BlobError::Content { source, .. }) => source.downcast_ref::<StoreError>(),
            _ => None,
        }
    }

    /// True when asking again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ExportError::Validation(_) => false,
            ExportError::Blob(ibrat_ports::BlobError::Unavailable(_)) => true,
            ExportError::Blob(_) => self.store_cause().is_some_and(StoreError::is_retryable),
        }
    }
}

/// An export written to object storage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportLink {
    /// GET this (no auth header) to download the file; valid for `expires_in_secs`.
    pub download_url: String,
    /// The name the download is saved under.
    pub file_name: String,
    /// The file's size in bytes.
    pub bytes: u64,
    pub expires_in_secs: u64,
}

/// Writes an export stream to object storage under `exports/<id>/<file_name>`
/// (never holding it whole) and returns a presigned link to it.
pub async fn to_blob(
    deps: &Deps,
    file_name: &str,
    body: BoxStream<'static, Result<Bytes, StoreError>>,
) -> Result<ExportLink, ExportError> {
    let key = keys::export_blob(&uuid::Uuid::new_v4().to_string(), file_name);
    let content = body.map(|chunk| chunk.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)).boxed();
    let bytes = deps.blobs.put_stream(&key, "text/csv; charset=utf-8", content).await?;
    let download_url = deps.blobs.presign_get(&key, DOWNLOAD_URL_TTL, file_name).await?;
    tracing::info!(key = %key, bytes, "export stored");
    Ok(ExportLink { download_url, file_name: file_name.to_owned(), bytes, expires_in_secs: DOWNLOAD_URL_TTL.as_secs() })
}

/// The cell as a spreadsheet should show it, escaped against formulas.
pub fn escape_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// One CSV line (quoted as needed, `\n`-terminated) of escaped cells.
pub fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let escaped: Vec<std::borrow::Cow<'_, str>> = cells.into_iter().map(escape_cell).collect();
    // Writing to a Vec cannot fail.
    let _ = w.write_record(escaped.iter().map(|c| c.as_bytes()));
    w.into_inner().unwrap_or_default()
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// Columns of the leads export.
pub const LEAD_HEADER: [&str; 13] = [
    "id",
    "name",
    "phone",
    "email",
    "priority",
    "status",
    "attempts",
    "next_attempt_at",
    "timezone",
    "notes",
    "custom",
    "import_id",
    "created_at",
];

fn lead_line(lead: &Lead) -> Vec<u8> {
    let custom =
        if lead.custom.is_empty() { String::new() } else { serde_json::to_string(&lead.custom).unwrap_or_default() };
    let attempts = lead.attempts.to_string();
    csv_line([
        lead.id.as_str(),
        &lead.name,
        lead.phone.as_str(),
        lead.email.as_ref().map(|e| e.as_str()).unwrap_or_default(),
        lead.priority.as_str(),
        lead.status.as_str(),
        &attempts,
        &time(lead.next_attempt_at),
        lead.timezone.as_deref().unwrap_or_default(),
        &lead.notes,
        &custom,
        lead.import_id.as_ref().map(|i| i.as_str()).unwrap_or_default(),
        &time(Some(lead.created_at)),
    ])
}

/// Columns of the calls export.
pub const CALL_HEADER: [&str; 14] = [
    "id",
    "lead_id",
    "salesperson_id",
    "status",
    "outcome",
    "answered_by",
    "disposition",
    "attempt",
    "ring_secs",
    "talk_secs",
    "notes",
    "created_at",
    "answered_at",
    "ended_at",
];

fn call_line(call: &Call) -> Vec<u8> {
    let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let disposition = call.disposition.as_ref().map(|d| d.as_str()).unwrap_or_default();
    let attempt = call.attempt.to_string();
    csv_line([
        call.id.as_str(),
        call.lead_id.as_str(),
        call.salesperson_id.as_ref().map(|u| u.as_str()).unwrap_or_default(),
        call.status.as_str(),
        call.outcome.map(|o| o.as_str()).unwrap_or_default(),
        call.answered_by.map(|a| a.as_str()).unwrap_or_default(),
        disposition,
        &attempt,
        &num(call.ring_secs),
        &num(call.talk_secs),
        call.notes.as_deref().unwrap_or_default(),
        &time(Some(call.created_at)),
        &time(call.answered_at),
        &time(call.ended_at),
    ])
}

/// Walks gsi1 partitions in order, page by page, rendering each item.
fn walk(
    store: Arc<dyn Store>,
    header: Vec<u8>,
    partitions: Vec<(String, SkCondition)>,
    render: fn(&Item) -> Result<Vec<u8>, StoreError>,
) -> BoxStream<'static, Result<Bytes, StoreError>> {
    let first = stream::once(async move { Ok(Bytes::from(header)) });
    let rest = stream::try_unfold((0usize, None::<Cursor>), move |(idx, cursor)| {
        let store = store.clone();
        let part = partitions.get(idx).cloned();
        async move {
            let Some((pk, sk)) = part else { return Ok(None) };
            let q = Query::index(GSI1.name, pk).sk(sk).limit(PAGE).after(cursor);
            let page = store.query(&q).await?;
            let mut out = Vec::new();
            for item in &page.items {
                out.extend(render(item)?);
            }
            let next = match page.cursor {
                Some(c) => (idx, Some(c)),
                None => (idx + 1, None),
            };
            Ok(Some((Bytes::from(out), next)))
        }
    });
    first.chain(rest).boxed()
}

/// Every lead as CSV, status by status (oldest first within a status).
pub fn leads_csv(store: Arc<dyn Store>) -> BoxStream<'static, Result<Bytes, StoreError>> {
    let partitions = LeadStatus::ALL.iter().map(|s| (keys::leads_by_status_pk(*s), SkCondition::Any)).collect();
    walk(store, csv_line(LEAD_HEADER), partitions, |item| Ok(lead_line(&lead_repo::from_item(item)?)))
}

/// Every call created in `[from, to]` (UTC days) as CSV, oldest first.
/// Defaults: the last 30 days up to today; at most a year per export.
pub fn calls_csv(
    store: Arc<dyn Store>,
    now: DateTime<Utc>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, ExportError> {
    let to = to.unwrap_or(now.date_naive());
    let from = match from {
        Some(from) => from,
        None => to
            .checked_sub_signed(Duration::days(29))
            .ok_or_else(|| ExportError::Validation("`to` is too far in the past".into()))?,
    };
    if from > to {
        return Err(ExportError::Validation("`from` must not be after `to`".into()));
    }
    if to.signed_duration_since(from).num_days() >= MAX_CALL_EXPORT_DAYS {
        return Err(ExportError::Validation(format!("an export may cover at most {MAX_CALL_EXPORT_DAYS} days")));
    }
    let partitions = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (keys::calls_by_day_pk(&d.format("%Y-%m-%d").to_string()), SkCondition::Any))
        .collect();
    Ok(walk(store, csv_line(CALL_HEADER), partitions, |item| Ok(call_line(&call_repo::from_item(item)?))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_escaped_and_quoted_cells_survive() {
        for bad in ["=1+1", "+998901234567", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(escape_cell(bad), format!("'{bad}"));
        }
        assert_eq!(escape_cell("Bobur"), "Bobur");
        assert_eq!(escape_cell(""), "");
        assert_eq!(csv_line(["a,b", "say \"hi\"", "=x"]), b"\"a,b\",\"say \"\"hi\"\"\",'=x\n".to_vec());
    }
}
