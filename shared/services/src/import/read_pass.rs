//! The read pass: a blocking thread reads CSV records, two parse tasks at
//! a time turn batches into lead rows (phone parsing dominates the cost),
//! rejected rows are stored as they come and good rows are staged
//! ([`super::staging`]) for the write pass.

use std::io::Read;
use std::sync::Arc;

use csv::ByteRecord;
use futures::stream::{self, StreamExt};
use ibrat_domain::Region;
use tokio::sync::mpsc;

use super::csv_stream;
use super::headers::{match_headers, Columns};
use super::row::{is_blank, parse_row, LeadRow, RejectKind, RowError};
use super::run::{announce_progress, save_checked, staging_failed};
use super::staging::Staging;
use super::{FileError, Halt, ImportError, SourceError, BATCH_ROWS, PROGRESS_ROWS};
use crate::context::Deps;
use crate::repo::imports::{Counts, ImportRecord};

/// Batches read and parsed ahead (one per core on a small machine).
pub(super) const PARSE_AHEAD: usize = 2;
/// Rejected rows stored per write while reading.
const REJECTS_PER_WRITE: usize = 2_000;

/// One data record as read: whole, or refused by the reader's bounds.
enum Raw {
    Record(ByteRecord),
    Refused(RowError),
}

/// Raw records of one batch, each with its line.
pub(super) struct RawBatch {
    records: Vec<(u64, Raw)>,
}

/// What the reading thread hands over, in order.
pub(super) enum Parsed {
    Header(Arc<Columns>),
    Batch(RawBatch),
    Halt(Halt),
}

/// Reads the whole input on a blocking thread: the header, then batches of
/// data rows. Stops quietly when the receiver is gone.
pub(super) fn read_all<R: Read>(input: R, max_rows: u64, tx: mpsc::Sender<Parsed>) {
    let send = |m: Parsed| tx.blocking_send(m).is_ok();
    let (mut rdr, lines) = match csv_stream::open(input) {
        Ok(opened) => opened,
        Err(h) => {
            send(Parsed::Halt(h));
            return;
        }
    };
    let mut rec = ByteRecord::new();
    // Every record is numbered, so the line index never grows past the
    // reader's buffer.
    let next = |rdr: &mut csv_stream::CsvReader<R>, rec: &mut ByteRecord| {
        let more = rdr.read_byte_record(rec)?;
        let mut lines = lines.borrow_mut();
        let line = lines.line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
        lines.record_read(rdr.position().byte());
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
    let cols = Arc::new(cols);
    if !send(Parsed::Header(cols.clone())) {
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
                batch.push((line, bounded(&cols, &rec, line)));
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

/// The record, or its refusal when a cell is over [`csv_stream::MAX_FIELD_BYTES`].
fn bounded(cols: &Columns, rec: &ByteRecord, line: u64) -> Raw {
    match rec.iter().position(|cell| cell.len() > csv_stream::MAX_FIELD_BYTES) {
        None => Raw::Record(rec.clone()),
        Some(i) => {
            let cell = &rec[i];
            let shown = String::from_utf8_lossy(&cell[..cell.len().min(1024)]);
            let reason = format!("a cell longer than {} bytes", csv_stream::MAX_FIELD_BYTES);
            Raw::Refused(RowError::new(line, RejectKind::Invalid, cols.header(i), reason, &shown))
        }
    }
}

/// A parsed data row: a lead to stage, or why not.
type ParsedRow = Result<LeadRow, RowError>;

fn parse_batch(cols: &Columns, raw: RawBatch, region: Region) -> Vec<ParsedRow> {
    raw.records
        .into_iter()
        .map(|(line, raw)| match raw {
            Raw::Record(record) => parse_row(cols, &record, line, region),
            Raw::Refused(e) => Err(e),
        })
        .collect()
}

/// The rejected row naming where reading stopped, for a record that never ended.
fn unended(halt: &Halt) -> Option<RowError> {
    match halt {
        Halt::File(FileError::RecordTooLong { line, max_bytes }) => Some(RowError::new(
            *line,
            RejectKind::Invalid,
            "",
            format!(
                "the record starting here is longer than {max_bytes} bytes (a quote left open?); reading stopped here"
            ),
            "",
        )),
        _ => None,
    }
}

/// One step of reading, in file order.
enum Step {
    Rows(Vec<ParsedRow>),
    Halt(Halt),
}

/// What reading left: the staged rows, the rows read and refused, and
/// whether the file stopped early.
pub(super) struct ReadPass {
    pub staging: Staging,
    pub counts: Counts,
    pub halt: Option<Halt>,
}

/// First pass: reads and parses every row, stores the rejected ones and
/// stages the rest; `rec.counts` gets the rows read and refused.
pub(super) async fn read_pass(
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
                // The line reading stopped at is in the report, counted as refused.
                if let Some(e) = unended(&h) {
                    counts.rows += 1;
                    counts.invalid += 1;
                    rejects.push(e);
                }
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
            crate::repo::import_errors::store(deps.store.as_ref(), &rec.id, &mut rejects).await?;
        }
        if since_progress >= PROGRESS_ROWS {
            since_progress = 0;
            rec.counts.rows = counts.rows;
            rec.counts.invalid = counts.invalid;
            // Saved, so the staleness sweep sees a long read as alive.
            save_checked(deps, rec).await?;
            announce_progress(deps, rec).await;
        }
    }
    crate::repo::import_errors::store(deps.store.as_ref(), &rec.id, &mut rejects).await?;
    Ok(ReadPass { staging, counts, halt })
}
