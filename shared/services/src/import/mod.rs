//! CSV lead import, shared by the `csv-import` Lambda (file uploaded to S3
//! through a presigned URL) and the direct upload route.
//!
//! How a file becomes leads:
//! - [`csv_stream`] decides encoding (UTF-8, BOM or not; anything else is
//!   refused), the delimiter (comma, semicolon or tab) and streams records;
//!   [`headers`] maps the header row; [`row`] turns each row into a lead or
//!   a row error; rejected rows are stored as they come and good rows are
//!   [`staging`]: held (spilling to temporary files past a bound) until the
//!   file is read, then handed back in lead-key order; [`lead_batch`] creates
//!   leads in batches with conditional puts; [`crate::repo::imports`] keeps the import's
//!   status, counts and checkpoint. The file is never held whole in memory.
//! - Exactness: a lead's id is derived from its phone and created only if
//!   absent, and each lead remembers the import and line that created it,
//!   so a re-run counts its own earlier leads as imported and other
//!   matches as duplicates. Rows of one phone are staged next to each
//!   other, earliest line first, so the first wins. The write batches are
//!   the same for the same file; the number written is checkpointed on the
//!   import record under a version condition, with the counts, and a re-run
//!   reads the file again and skips them. Re-handling a batch past the
//!   checkpoint writes the same items and the same counts.
//! - Limits: `import_max_bytes` is checked before anything is written (the
//!   object's size, or the upload's `Content-Length`; a body without one is
//!   counted while it streams and the import fails when it goes over).
//!   `import_max_rows` is counted as rows are read: at the first row over
//!   the limit the import stops and is marked failed (`too_many_rows`);
//!   the rows before it stay imported (they are valid, possibly already
//!   dialed leads) and the record says so.
//! - Stalls: every save stamps the record's progress time; an import left
//!   `running` with no progress for `import_stale_after` is resumed from
//!   its checkpoint or failed by the scheduler's [`sweep`].
//! - Do-not-call numbers are stored as `do_not_call` leads, never queued.
//!   The list is read per batch; a number listed during the import is still
//!   never dialed, because the dialer's claim checks the list again.

pub mod csv_stream;
pub mod errors_csv;
pub mod headers;
pub mod lead_batch;
mod read_pass;
pub mod row;
mod run;
mod service;
pub mod staging;
mod sweep;
mod write_pass;

use ibrat_domain::ImportId;
use ibrat_ports::StoreError;
use serde::Serialize;

pub use crate::repo::imports::{Counts, Failure, ImportRecord, ImportStatus};
pub use row::{RejectKind, RowError};
pub use run::{import_id_of_key, run, run_from_blob, run_stream};
pub use service::{create, fail, get, list, Created};
pub use sweep::{sweep, SweepOutcome, SWEEP_PAGE};

/// Rows read and parsed per batch (one parse task).
pub const BATCH_ROWS: usize = 2000;
/// Counts are checkpointed, and progress announced, about this often.
pub const PROGRESS_ROWS: u64 = 10_000;
/// Rejected rows shown with an import (the rest are in the CSV download).
pub const FIRST_ERRORS: usize = 20;

/// Why a file is refused as a whole (the import is marked failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty; it needs a header row naming its columns")]
    Empty,
    #[error("no phone column found (accepted names: phone, phone number, mobile, tel); the headers found were: {}", found.join(", "))]
    NoPhoneColumn { found: Vec<String> },
    #[error("the file has more than {max} columns we do not recognise")]
    TooManyColumns { max: usize },
    #[error("a column name is longer than {max} characters")]
    HeaderTooLong { max: usize },
    #[error("{0}")]
    Encoding(String),
    #[error("the file is larger than the limit of {max_bytes} bytes; split it into smaller files")]
    TooLarge { max_bytes: u64 },
    #[error("the file has more than {max_rows} rows; the first {max_rows} were handled and the rest was not read; split the file")]
    TooManyRows { max_rows: u64 },
    #[error("the file is not valid CSV: {0}")]
    Malformed(String),
    /// A record never ended within the bound (usually a quote left open):
    /// reading stopped there; the rows before it were handled.
    #[error("the record starting on line {line} is longer than {max_bytes} bytes (is a quote left open on that line?); the rows before it were handled and the rest was not read; fix that line and upload the rest again")]
    RecordTooLong { line: u64, max_bytes: u64 },
}

impl FileError {
    /// Stable machine-readable code, stored with the failed import.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::Empty => "empty_file",
            FileError::NoPhoneColumn { .. } => "no_phone_column",
            FileError::TooManyColumns { .. } => "too_many_columns",
            FileError::HeaderTooLong { .. } => "header_too_long",
            FileError::Encoding(_) => "unsupported_encoding",
            FileError::TooLarge { .. } => "file_too_large",
            FileError::TooManyRows { .. } => "too_many_rows",
            FileError::Malformed(_) => "malformed_csv",
            FileError::RecordTooLong { .. } => "record_too_long",
        }
    }
}

/// Why the bytes of an upload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("the upload is larger than the limit of {max_bytes} bytes")]
    TooLarge { max_bytes: u64 },
    #[error("the uploaded file `{0}` does not exist")]
    NotFound(String),
    #[error("the upload could not be read: {0}")]
    Unavailable(String),
}

impl From<ibrat_ports::BlobError> for SourceError {
    fn from(e: ibrat_ports::BlobError) -> Self {
        match e {
            ibrat_ports::BlobError::NotFound(k) | ibrat_ports::BlobError::InvalidKey(k) => SourceError::NotFound(k),
            ibrat_ports::BlobError::Unavailable(m) => SourceError::Unavailable(m),
            e @ ibrat_ports::BlobError::Content { .. } => SourceError::Unavailable(e.to_string()),
        }
    }
}

/// What stopped reading: the file itself, or the bytes' source.
#[derive(Debug)]
pub(crate) enum Halt {
    File(FileError),
    Source(SourceError),
}

impl Halt {
    /// Sorts an I/O error from the reader: our own source errors come back
    /// wrapped; anything else is the source failing.
    pub(crate) fn from_io(e: std::io::Error) -> Self {
        if let Some(file) = e.get_ref().and_then(|inner| inner.downcast_ref::<FileError>()) {
            return Halt::File(file.clone());
        }
        match e.get_ref().and_then(|inner| inner.downcast_ref::<SourceError>()) {
            Some(SourceError::TooLarge { max_bytes }) => Halt::File(FileError::TooLarge { max_bytes: *max_bytes }),
            Some(other) => Halt::Source(other.clone()),
            None => Halt::Source(SourceError::Unavailable(e.to_string())),
        }
    }

    /// Sorts a CSV error: I/O inside it as above, the rest malformed CSV.
    pub(crate) fn from_csv(e: csv::Error) -> Self {
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Halt::from_io(io),
            _ => Halt::File(FileError::Malformed(message)),
        }
    }
}

/// Import failures, typed so callers can map them to statuses and to
/// retry-or-not.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("import not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Validation(String),
    /// The file was refused as a whole; the import is marked failed.
    #[error("import {import_id} failed: {error}")]
    Refused { import_id: ImportId, error: FileError },
    #[error(transparent)]
    Source(SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another run of this import moved ahead of this one, which stopped.
    #[error("import {0} is being run elsewhere")]
    Superseded(ImportId),
}

impl From<crate::auth::AdminOnly> for ImportError {
    fn from(e: crate::auth::AdminOnly) -> Self {
        ImportError::Forbidden(e.to_string())
    }
}

impl ImportError {
    /// True when running the same import again later may succeed (it then
    /// resumes from its checkpoint).
    pub fn is_retryable(&self) -> bool {
        match self {
            ImportError::Store(e) => e.is_retryable(),
            ImportError::Source(SourceError::Unavailable(_)) => true,
            _ => false,
        }
    }
}

/// One import as the API shows it: the record and its first rejected rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportSummary {
    #[serde(flatten)]
    pub record: ImportRecord,
    /// The first rejected rows, in line order.
    pub errors: Vec<RowError>,
}
