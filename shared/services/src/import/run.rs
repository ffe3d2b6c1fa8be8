//! Running one import, in two passes. Reading: a blocking thread reads
//! CSV records, two parse tasks at a time turn batches into lead rows
//! (phone parsing dominates the cost), rejected rows are stored at once and
//! good rows are staged ([`super::staging`]). Writing: the staged rows come
//! back in lead-key order, in batches, and each batch is written with
//! conditional puts; the count of batches written is checkpointed on the
//! import record, so a re-run reads the file again and skips them.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use csv::ByteRecord;
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_domain::{EventKind, ImportId, Region, UserId};
use tokio::sync::mpsc;

use super::headers::{match_headers, Columns};
use super::reader::{self, ChunkReader};
use super::record::{self, Counts, Failure, ImportRecord, ImportStatus};
use super::row::{is_blank, parse_row, RowError};
use super::service::{clean_file_name, summary};
use super::staging::{Staged, Staging};
use super::writer::{self, ParsedRow};
use super::{errors_csv, FileError, Halt, ImportError, ImportSummary, SourceError, BATCH_ROWS, PROGRESS_ROWS};
use crate::context::Deps;
use crate::messages::QueueMessage;

/// Batches parsed ahead of the writer (one per core on a small machine).
const PARSE_AHEAD: usize = 2;
/// Chunks of the upload buffered between the network and the reader.
const CHUNKS_AHEAD: usize = 8;
/// Attempts at a checkpoint when another runner raced us.
const SAVE_ATTEMPTS: usize = 3;
/// Write batches in flight at once.
const WRITES_AHEAD: usize = 2;
/// Rejected rows stored per write while reading.
const REJECTS_PER_WRITE: usize = 2_000;

/// Raw records of one batch, each with its line.
struct RawBatch {
    records: Vec<(u64, ByteRecord)>,
}

/// What the reading thread hands over, in order.
enum Parsed {
    Header(Arc<Columns>),
    Batch(RawBatch),
    Halt(Halt),
}

/// Reads the whole input on a blocking thread: the header, then batches of
/// data rows. Stops quietly when the receiver is gone.
fn read_all<R: Read>(input: R, max_rows: u64, tx: mpsc::Sender<Parsed>) {
    let send = |m: Parsed| tx.blocking_send(m).is_ok();
    let (mut rdr, lines) = match reader::open(input) {
        Ok(opened) => opened,
        Err(h) => {
            send(Parsed::Halt(h));
            return;
        }
    };
    let mut rec = ByteRecord::new();
    // Every record is numbered, so the line index never grows past the
    // reader's buffer.
    let next = |rdr: &mut reader::CsvReader<R>, rec: &mut ByteRecord| {
        let more = rdr.read_byte_record(rec)?;
        let line = lines.borrow_mut().line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
        Ok::<_, csv::Error>(more.then_some(line))
    };
    let cols = loop {
        match next(&mut rdr, &mut rec).map(|l| l.is_some()) {
            Ok(false) => {
                send(Parsed::Halt(Halt::File(FileError::Empty)));
                return;
            }
            Ok(true) if is_blank(&rec) => continue,
            Ok(true) => {
                let names: Vec<String> = rec.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
                match match_headers(&names) {
                    Ok(c) => break c,
                    Err(e) => {
                        send(Parsed::Halt(Halt::File(e)));
                        return;
                    }
                }
            }
            Err(e) => {
                send(Parsed::Halt(Halt::from_csv(e)));
                return;
            }
        }
    };
    if !send(Parsed::Header(Arc::new(cols))) {
        return;
    }
    let mut data_rows = 0u64;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let halt = loop {
        match next(&mut rdr, &mut rec) {
            Ok(None) => break None,
            Ok(Some(_)) if is_blank(&rec) => continue,
            Ok(Some(line)) => {
                if data_rows == max_rows {
                    break Some(Halt::File(FileError::TooManyRows { max_rows }));
                }
                data_rows += 1;
                batch.push((line, rec.clone()));
                if batch.len() >= BATCH_ROWS {
                    let records = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                    if !send(Parsed::Batch(RawBatch { records })) {
                        return;
                    }
                }
            }
            Err(e) => break Some(Halt::from_csv(e)),
        }
    };
    if !batch.is_empty() && !send(Parsed::Batch(RawBatch { records: batch })) {
        return;
    }
    if let Some(h) = halt {
        send(Parsed::Halt(h));
    }
}

fn parse_batch(cols: &Columns, raw: RawBatch, region: Region) -> Vec<ParsedRow> {
    raw.records.iter().map(|(line, record)| parse_row(cols, record, *line, region)).collect()
}

/// One step of reading, in file order.
enum Step {
    Rows(Vec<ParsedRow>),
    Halt(Halt),
}

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
        let Some(mut rec) = record::get(store, id).await? else {
            let fresh = ImportRecord::new(id.clone(), file_name, created_by.clone(), deps.clock.now());
            record::create(store, &fresh).await?;
            continue;
        };
        if rec.status.is_final() {
            return Ok(Err(rec));
        }
        rec.status = ImportStatus::Running;
        rec.started_at.get_or_insert(deps.clock.now());
        if record::save(store, &mut rec).await? {
            return Ok(Ok(rec));
        }
    }
    Err(ImportError::Superseded(id.clone()))
}

/// Saves `rec`; on a lost race takes over only if the stored record is
/// behind this run (else another run is ahead and this one stops).
async fn save_checked(deps: &Deps, rec: &mut ImportRecord) -> Result<(), ImportError> {
    let store = deps.store.as_ref();
    for _ in 0..SAVE_ATTEMPTS {
        if record::save(store, rec).await? {
            return Ok(());
        }
        let stored = record::get(store, &rec.id).await?.ok_or(ImportError::NotFound)?;
        if stored.status.is_final() || stored.checkpoint > rec.checkpoint {
            return Err(ImportError::Superseded(rec.id.clone()));
        }
        rec.version = stored.version;
    }
    Err(ImportError::Superseded(rec.id.clone()))
}

async fn announce_end(deps: &Deps, rec: &ImportRecord) {
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

async fn announce_progress(deps: &Deps, rec: &ImportRecord) {
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

/// Stores rejected rows (unconditional puts: a re-run rewrites them).
async fn store_rejects(deps: &Deps, import_id: &ImportId, rejects: &mut Vec<RowError>) -> Result<(), ImportError> {
    if rejects.is_empty() {
        return Ok(());
    }
    let items = rejects.drain(..).map(|e| errors_csv::to_item(import_id, &e)).collect();
    deps.store.batch_write(items, Vec::new()).await?;
    Ok(())
}

fn staging_failed(e: std::io::Error) -> ImportError {
    ImportError::Source(SourceError::Unavailable(format!("could not stage rows in a temporary file: {e}")))
}

/// What reading left: the staged rows, the rows read and refused, and
/// whether the file stopped early.
struct ReadPass {
    staging: Staging,
    counts: Counts,
    halt: Option<Halt>,
}

/// First pass: reads and parses every row, stores the rejected ones and
/// stages the rest; `rec.counts` gets the rows read and refused.
async fn read_pass(
    deps: &Deps,
    rec: &mut ImportRecord,
    cols: Arc<Columns>,
    rx: mpsc::Receiver<Parsed>,
) -> Result<ReadPass, ImportError> {
    let region = deps.config.default_region;
    let stopped = || SourceError::Unavailable("the reader stopped unexpectedly".into());
    let steps = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) })
        .map(move |msg| {
            let cols = cols.clone();
            async move {
                match msg {
                    Parsed::Batch(raw) => {
                        match tokio::task::spawn_blocking(move || parse_batch(&cols, raw, region)).await {
                            Ok(rows) => Step::Rows(rows),
                            Err(_) => Step::Halt(Halt::Source(stopped())),
                        }
                    }
                    Parsed::Halt(h) => Step::Halt(h),
                    Parsed::Header(_) => Step::Halt(Halt::Source(stopped())),
                }
            }
        })
        .buffered(PARSE_AHEAD);
    let mut steps = std::pin::pin!(steps);
    let mut staging = Staging::new();
    let mut counts = Counts::default();
    let mut rejects = Vec::new();
    let mut since_progress = 0u64;
    let mut halt = None;
    while let Some(step) = steps.next().await {
        let rows = match step {
            Step::Rows(rows) => rows,
            Step::Halt(h) => {
                halt = Some(h);
                break;
            }
        };
        since_progress += rows.len() as u64;
        for row in rows {
            counts.rows += 1;
            match row {
                Ok(row) => staging.push(row).map_err(staging_failed)?,
                Err(e) => {
                    counts.invalid += 1;
                    rejects.push(e);
                }
            }
        }
        if rejects.len() >= REJECTS_PER_WRITE {
            store_rejects(deps, &rec.id, &mut rejects).await?;
        }
        if since_progress >= PROGRESS_ROWS {
            since_progress = 0;
            rec.counts.rows = counts.rows;
            rec.counts.invalid = counts.invalid;
            announce_progress(deps, rec).await;
        }
    }
    store_rejects(deps, &rec.id, &mut rejects).await?;
    Ok(ReadPass { staging, counts, halt })
}

/// Second pass: writes the staged rows in key order, batch by batch,
/// skipping the batches an earlier run checkpointed.
async fn write_pass(
    deps: &Deps,
    rec: &mut ImportRecord,
    phone_column: &str,
    staging: Staging,
) -> Result<(), ImportError> {
    let mut batches = staging.finish().map_err(staging_failed)?;
    // Reading back and sorting the next bucket overlaps with writing this one.
    let (tx, rx) = mpsc::channel::<std::io::Result<Vec<Staged>>>(1);
    tokio::task::spawn_blocking(move || loop {
        match batches.next_batch() {
            Ok(None) => break,
            Ok(Some(batch)) => {
                if tx.blocking_send(Ok(batch)).is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                break;
            }
        }
    });
    // Batches are independent (one phone's rows share a batch), so the next
    // one is prepared while the store commits this one; results come back
    // in order, which keeps the checkpoint a count of batches written.
    let (import_id, skip) = (rec.id.clone(), rec.checkpoint);
    let batches = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) })
        .enumerate()
        .filter(|(i, _)| std::future::ready(*i as u64 >= skip))
        .map(|(i, batch)| {
            let import_id = import_id.clone();
            async move {
                let batch = batch.map_err(staging_failed)?;
                let rows = batch.into_iter().map(|staged| Ok(staged.row)).collect();
                let written = writer::write_batch(deps, &import_id, phone_column, rows).await?;
                Ok::<_, ImportError>((i as u64 + 1, written))
            }
        })
        .buffered(WRITES_AHEAD);
    let mut batches = std::pin::pin!(batches);
    let mut since_progress = 0u64;
    while let Some(done) = batches.next().await {
        let (index, written) = done?;
        rec.counts.imported += written.imported;
        rec.counts.duplicates += written.duplicates;
        rec.counts.do_not_call += written.do_not_call;
        rec.checkpoint = index;
        since_progress += written.rows;
        if since_progress >= PROGRESS_ROWS {
            since_progress = 0;
            save_checked(deps, rec).await?;
            announce_progress(deps, rec).await;
        }
    }
    Ok(())
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
    let read = read_pass(deps, &mut rec, cols, rx).await?;
    if let Some(Halt::Source(e)) = read.halt {
        // Nothing was written but rejected rows; a re-run reads it all again.
        return Err(ImportError::Source(e));
    }
    rec.counts.rows = read.counts.rows;
    rec.counts.invalid = read.counts.invalid;
    save_checked(deps, &mut rec).await?;
    // Rows before a file error stay imported, as the record will say.
    write_pass(deps, &mut rec, &phone_column, read.staging).await?;
    if let Some(Halt::File(e)) = read.halt {
        return refuse(deps, rec, e).await;
    }
    rec.status = ImportStatus::Completed;
    rec.finished_at = Some(deps.clock.now());
    save_checked(deps, &mut rec).await?;
    let c = rec.counts;
    tracing::info!(import_id = %rec.id, rows = c.rows, imported = c.imported, duplicates = c.duplicates,
        invalid = c.invalid, do_not_call = c.do_not_call, "import completed");
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
