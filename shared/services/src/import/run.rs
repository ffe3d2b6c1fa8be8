//! Running one import: the record's life (created, running, checkpointed,
//! completed or failed, announced) around two passes over the file,
//! [`super::read_pass`] (parse, store rejected rows, stage good ones) and
//! [`super::write_pass`] (leads in key order, checkpointed per batch), and
//! the ways in: a reader, a stream of chunks, an uploaded object.

use std::io::Read;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use ibrat_domain::{EventKind, ImportId, UserId};
use tokio::sync::mpsc;

use super::csv_stream::ChunkReader;
use super::read_pass::{read_all, read_pass, Parsed, PARSE_AHEAD};
use super::service::{clean_file_name, summary};
use super::write_pass::write_pass;
use super::{FileError, Halt, ImportError, ImportSummary, SourceError};
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo::imports::{self as job, Failure, ImportRecord, ImportStatus};

/// Chunks of the upload buffered between the network and the reader.
const CHUNKS_AHEAD: usize = 8;
/// Attempts at a checkpoint when another runner raced us.
const SAVE_ATTEMPTS: usize = 3;

/// Gets the record (creating it for a file that arrived without one) and
/// marks it running; a finished import is returned as it is.
async fn begin(
    deps: &Deps,
    id: &ImportId,
    file_name: &str,
    created_by: Option<UserId>,
) -> Result<Result<ImportRecord, ImportRecord>, ImportError> {
    let store = deps.store.as_ref();
    for _ in 0..SAVE_ATTEMPTS + 1 {
        let Some(mut rec) = job::get(store, id).await? else {
            let fresh = ImportRecord::new(id.clone(), file_name, created_by.clone(), deps.clock.now());
            job::create(store, &fresh).await?;
            continue;
        };
        if rec.status.is_final() {
            return Ok(Err(rec));
        }
        rec.status = ImportStatus::Running;
        rec.started_at.get_or_insert(deps.clock.now());
        rec.progress_at = Some(deps.clock.now());
        if job::save(store, &mut rec).await? {
            return Ok(Ok(rec));
        }
    }
    Err(ImportError::Superseded(id.clone()))
}

/// Saves `rec`; on a lost race takes over only if the stored record is
/// behind this run (else another run is ahead and this one stops).
pub(super) async fn save_checked(deps: &Deps, rec: &mut ImportRecord) -> Result<(), ImportError> {
    let store = deps.store.as_ref();
    rec.progress_at = Some(deps.clock.now());
    for _ in 0..SAVE_ATTEMPTS {
        if job::save(store, rec).await? {
            return Ok(());
        }
        let stored = job::get(store, &rec.id).await?.ok_or(ImportError::NotFound)?;
        if stored.status.is_final() || stored.checkpoint > rec.checkpoint {
            return Err(ImportError::Superseded(rec.id.clone()));
        }
        rec.version = stored.version;
        // The staleness sweep's count of resumes is never moved back.
        rec.resumes = rec.resumes.max(stored.resumes);
    }
    Err(ImportError::Superseded(rec.id.clone()))
}

pub(super) async fn announce_end(deps: &Deps, rec: &ImportRecord) {
    let c = rec.counts;
    deps.emit(EventKind::ImportCompleted {
        import_id: rec.id.clone(),
        status: rec.status.as_str().to_owned(),
        rows: c.rows,
        imported: c.imported,
        duplicates: c.duplicates,
        invalid: c.invalid,
        do_not_call: c.do_not_call,
    })
    .await;
    if c.imported > 0 {
        if let Err(e) = deps.queue.send(&QueueMessage::Nudge.to_body(), std::time::Duration::ZERO).await {
            tracing::warn!(error = %e, import_id = %rec.id, "could not queue a nudge");
        }
    }
}

/// Marks the import failed because of its file and reports it.
async fn refuse(deps: &Deps, mut rec: ImportRecord, error: FileError) -> Result<ImportSummary, ImportError> {
    rec.status = ImportStatus::Failed;
    rec.failure = Some(Failure { code: error.code().to_owned(), message: error.to_string() });
    rec.finished_at = Some(deps.clock.now());
    save_checked(deps, &mut rec).await?;
    tracing::info!(import_id = %rec.id, code = error.code(), "import refused");
    announce_end(deps, &rec).await;
    Err(ImportError::Refused { import_id: rec.id, error })
}

/// Tells listeners how far the import has got.
pub(super) async fn announce_progress(deps: &Deps, rec: &ImportRecord) {
    let c = rec.counts;
    deps.emit(EventKind::ImportProgress {
        import_id: rec.id.clone(),
        rows: c.rows,
        imported: c.imported,
        duplicates: c.duplicates,
        invalid: c.invalid,
        do_not_call: c.do_not_call,
    })
    .await;
}

/// A failure of the temporary staging files (retryable: the disk may recover).
pub(super) fn staging_failed(e: std::io::Error) -> ImportError {
    ImportError::Source(SourceError::Unavailable(format!("could not stage rows in a temporary file: {e}")))
}

/// Reads, parses and writes every row of `input` into the running `rec`.
async fn pipeline<R: Read + Send + 'static>(
    deps: &Deps,
    mut rec: ImportRecord,
    input: R,
) -> Result<ImportSummary, ImportError> {
    let (tx, mut rx) = mpsc::channel::<Parsed>(PARSE_AHEAD);
    let max_rows = deps.config.import_max_rows;
    tokio::task::spawn_blocking(move || read_all(input, max_rows, tx));
    let stopped = || SourceError::Unavailable("the reader stopped unexpectedly".into());
    let cols = match rx.recv().await {
        Some(Parsed::Header(c)) => c,
        Some(Parsed::Halt(Halt::File(e))) => return refuse(deps, rec, e).await,
        Some(Parsed::Halt(Halt::Source(e))) => return Err(ImportError::Source(e)),
        Some(Parsed::Batch(_)) | None => return Err(ImportError::Source(stopped())),
    };
    let phone_column = cols.header(cols.phone).to_owned();
    let reading = std::time::Instant::now();
    let read = read_pass(deps, &mut rec, cols, rx).await?;
    let read_ms = reading.elapsed().as_millis() as u64;
    if let Some(Halt::Source(e)) = read.halt {
        // Nothing was written but rejected rows; a re-run reads it all again.
        return Err(ImportError::Source(e));
    }
    rec.counts.rows = read.counts.rows;
    rec.counts.invalid = read.counts.invalid;
    save_checked(deps, &mut rec).await?;
    // Rows before a file error stay imported, as the record will say.
    tracing::info!(import_id = %rec.id, rows = read.counts.rows, invalid = read.counts.invalid, read_ms, "import read");
    let writing = std::time::Instant::now();
    write_pass(deps, &mut rec, &phone_column, read.staging).await?;
    let write_ms = writing.elapsed().as_millis() as u64;
    if let Some(Halt::File(e)) = read.halt {
        return refuse(deps, rec, e).await;
    }
    rec.status = ImportStatus::Completed;
    rec.finished_at = Some(deps.clock.now());
    save_checked(deps, &mut rec).await?;
    let c = rec.counts;
    tracing::info!(import_id = %rec.id, rows = c.rows, imported = c.imported, duplicates = c.duplicates,
        invalid = c.invalid, do_not_call = c.do_not_call, read_ms, write_ms, "import completed");
    announce_end(deps, &rec).await;
    summary(deps, rec).await
}

/// Imports from a blocking reader (a file, a buffer). Creates the record
/// when absent; a finished import is returned unchanged; an unfinished one
/// resumes after its checkpoint.
pub async fn run<R: Read + Send + 'static>(
    deps: &Deps,
    import_id: &ImportId,
    file_name: &str,
    created_by: Option<UserId>,
    input: R,
) -> Result<ImportSummary, ImportError> {
    let file_name = clean_file_name(Some(file_name))?;
    match begin(deps, import_id, &file_name, created_by).await? {
        Err(done) => summary(deps, done).await,
        Ok(rec) => pipeline(deps, rec, input).await,
    }
}

/// Imports from a stream of chunks (an upload, an object), never holding
/// the file whole; more than `import_max_bytes` fails the import.
pub async fn run_stream(
    deps: &Deps,
    import_id: &ImportId,
    file_name: &str,
    created_by: Option<UserId>,
    chunks: BoxStream<'static, Result<Bytes, SourceError>>,
) -> Result<ImportSummary, ImportError> {
    let file_name = clean_file_name(Some(file_name))?;
    match begin(deps, import_id, &file_name, created_by).await? {
        Err(done) => summary(deps, done).await,
        Ok(rec) => pipeline(deps, rec, spawn_feeder(chunks, deps.config.import_max_bytes)).await,
    }
}

/// Pumps chunks into a blocking reader from an async task.
fn spawn_feeder(mut chunks: BoxStream<'static, Result<Bytes, SourceError>>, max_bytes: u64) -> ChunkReader {
    let (tx, rx) = mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(async move {
        while let Some(chunk) = chunks.next().await {
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    ChunkReader::new(rx, max_bytes)
}

/// The import id in an upload key `imports/<id>.csv`.
pub fn import_id_of_key(key: &str) -> Option<ImportId> {
    let id = key.strip_prefix("imports/")?.strip_suffix(".csv")?;
    ImportId::parse(id).ok()
}

/// Imports the uploaded object `imports/<id>.csv` (the S3 trigger's work).
/// The object's size is checked before anything is written. Safe to call
/// again for the same key: a finished import is left as it is, an
/// unfinished one resumes.
pub async fn run_from_blob(deps: &Deps, key: &str) -> Result<ImportSummary, ImportError> {
    let id = import_id_of_key(key)
        .ok_or_else(|| ImportError::Validation(format!("`{key}` is not an import upload (imports/<id>.csv)")))?;
    let size = deps.blobs.size(key).await.map_err(|e| ImportError::Source(e.into()))?;
    let rec = match begin(deps, &id, key.rsplit('/').next().unwrap_or(key), None).await? {
        Err(done) => return summary(deps, done).await,
        Ok(rec) => rec,
    };
    let max_bytes = deps.config.import_max_bytes;
    if size > max_bytes {
        return refuse(deps, rec, FileError::TooLarge { max_bytes }).await;
    }
    let chunks = deps.blobs.get_stream(key).await.map_err(|e| ImportError::Source(e.into()))?;
    let chunks = chunks.map(|c| c.map_err(SourceError::from)).boxed();
    pipeline(deps, rec, spawn_feeder(chunks, max_bytes)).await
}
