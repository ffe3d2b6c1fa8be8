//! Rows held between reading the file and writing leads, so leads are
//! written in key order.
//!
//! A lead's key is a hash of its phone, so file order is random key order.
//! On the embedded store a batch of random keys rewrites about one B-tree
//! page per row, and the transaction holds every rewritten page in memory
//! until it commits; the same rows in key order share pages (the import
//! bench measured several times the speed, and a write buffer that stays
//! small). On DynamoDB the order changes nothing.
//!
//! Rows stay in memory up to [`IN_MEMORY_ROWS`]; past that they spill to up
//! to [`BUCKETS`] anonymous temporary files, one per range of the key hash,
//! which are read back one at a time, in key order, and sorted. Rows
//! of one phone land next to each other, earliest line first, and always in
//! the same batch, so duplicates within a file are found exactly.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use ibrat_domain::LeadId;

use super::row::LeadRow;

/// Rows kept in memory before staging spills to temporary files (about
/// 10 MB of rows; smaller files never touch the disk).
pub const IN_MEMORY_ROWS: usize = 20_000;
/// Temporary files a large import spills into (one per range of the key
/// hash, so each holds about 1/128 of the rows: 15,600 at the default row
/// limit, read back whole). Few enough open files to sit beside many
/// sockets under the usual limit of 1,024 descriptors.
pub const BUCKETS: usize = 128;
/// Most rows per write batch; a batch is only cut between two phones.
/// Larger batches mean fewer commits but more dirty pages held per
/// transaction (10,000 measured 40% more peak memory for no gain).
pub const WRITE_ROWS: usize = 4_000;

/// A staged row with the id of the lead it creates.
#[derive(Debug)]
pub struct Staged {
    pub id: LeadId,
    pub row: LeadRow,
}

impl Staged {
    fn new(row: LeadRow) -> Self {
        Staged { id: LeadId::for_phone(&row.phone), row }
    }
}

/// The bucket of a lead id, from the first byte of its hash, so buckets are
/// ordered like the ids themselves.
fn bucket_of(id: &LeadId) -> usize {
    let first = id
        .as_str()
        .strip_prefix("ld_")
        .and_then(|hex| hex.get(..2))
        .and_then(|byte| usize::from_str_radix(byte, 16).ok())
        .unwrap_or(0);
    first * BUCKETS / 256
}

fn corrupt(e: postcard::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("a staged row could not be read back: {e}"))
}

/// Rows of a file, accepted in file order.
#[derive(Default)]
pub struct Staging {
    memory: Vec<Staged>,
    spill: Option<Vec<Option<BufWriter<File>>>>,
}

impl Staging {
    /// An empty staging area.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages one row (in file order).
    pub fn push(&mut self, row: LeadRow) -> io::Result<()> {
        let staged = Staged::new(row);
        match &mut self.spill {
            Some(files) => write_frame(files, &staged),
            None => {
                self.memory.push(staged);
                if self.memory.len() > IN_MEMORY_ROWS {
                    let mut files: Vec<Option<BufWriter<File>>> = (0..BUCKETS).map(|_| None).collect();
                    for staged in self.memory.drain(..) {
                        write_frame(&mut files, &staged)?;
                    }
                    self.memory = Vec::new();
                    self.spill = Some(files);
                }
                Ok(())
            }
        }
    }

    /// Ends staging; the rows come back in key order, in batches.
    pub fn finish(self) -> io::Result<Batches> {
        match self.spill {
            None => {
                let mut current = sorted(self.memory);
                current.reverse();
                Ok(Batches { current, buckets: Vec::new() })
            }
            Some(files) => {
                let mut buckets = Vec::new();
                for file in files.into_iter().flatten() {
                    let mut file = file.into_inner().map_err(|e| e.into_error())?;
                    file.seek(SeekFrom::Start(0))?;
                    buckets.push(file);
                }
                // Popped from the back: the lowest bucket goes last in.
                buckets.reverse();
                Ok(Batches { current: Vec::new(), buckets })
            }
        }
    }
}

/// Appends one length-prefixed row to its bucket's file (created on first
/// use, deleted by the system when dropped).
fn write_frame(files: &mut [Option<BufWriter<File>>], staged: &Staged) -> io::Result<()> {
    let slot = &mut files[bucket_of(&staged.id)];
    if slot.is_none() {
        *slot = Some(BufWriter::with_capacity(16 * 1024, tempfile::tempfile()?));
    }
    let out = slot.as_mut().ok_or_else(|| io::Error::other("a bucket file could not be opened"))?;
    let bytes = postcard::to_stdvec(&staged.row).map_err(corrupt)?;
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(&bytes)
}

/// Reads back one bucket's rows.
fn read_bucket(file: File) -> io::Result<Vec<Staged>> {
    let mut input = BufReader::with_capacity(64 * 1024, file);
    let mut rows = Vec::new();
    let mut len = [0u8; 4];
    let mut buf = Vec::new();
    loop {
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(rows),
            Err(e) => return Err(e),
        }
        buf.resize(u32::from_le_bytes(len) as usize, 0);
        input.read_exact(&mut buf)?;
        rows.push(Staged::new(postcard::from_bytes(&buf).map_err(corrupt)?));
    }
}

/// Key order; rows of one phone in line order.
fn sorted(mut rows: Vec<Staged>) -> Vec<Staged> {
    rows.sort_unstable_by(|a, b| a.id.as_str().cmp(b.id.as_str()).then(a.row.line.cmp(&b.row.line)));
    rows
}

/// Staged rows handed back in key order, in batches of at most
/// [`WRITE_ROWS`] rows that never split one phone's rows. The batches are
/// the same for the same file, so a re-run can skip the ones written.
pub struct Batches {
    /// Rows of the bucket being handed out, in reverse (popped from the end).
    current: Vec<Staged>,
    /// Buckets not yet read, the next one last.
    buckets: Vec<File>,
}

impl Batches {
    /// The next batch (blocking file reads), or None when all are out.
    pub fn next_batch(&mut self) -> io::Result<Option<Vec<Staged>>> {
        while self.current.is_empty() {
            let Some(file) = self.buckets.pop() else { return Ok(None) };
            self.current = sorted(read_bucket(file)?);
            self.current.reverse();
        }
        let mut batch: Vec<Staged> = Vec::with_capacity(WRITE_ROWS.min(self.current.len()));
        while let Some(next) = self.current.pop() {
            let same_phone = batch.last().is_some_and(|last| last.id == next.id);
            if batch.len() >= WRITE_ROWS && !same_phone {
                self.current.push(next);
                break;
            }
            batch.push(next);
        }
        Ok(Some(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibrat_domain::{Phone, Priority, Region};

    fn row(line: u64, n: u64) -> LeadRow {
        LeadRow {
            line,
            phone: Phone::parse(&format!("+9989{:08}", 10_000_000 + n), Region::default()).expect("phone"),
            name: format!("n{line}"),
            email: None,
            priority: Priority::Medium,
            timezone: Some("Asia/Tashkent".into()),
            notes: "a, \"quoted\"\nnote".into(),
            custom: [("city".to_owned(), "Tashkent".to_owned())].into(),
        }
    }

    fn drain(mut batches: Batches) -> Vec<Vec<Staged>> {
        let mut out = Vec::new();
        while let Some(b) = batches.next_batch().expect("batch") {
            out.push(b);
        }
        out
    }

    fn check(rows: u64, repeat_every: u64) {
        let mut staging = Staging::new();
        let mut expected = Vec::new();
        for line in 0..rows {
            let n = if line % repeat_every == 0 && line > 0 { line - 1 } else { line };
            let r = row(line + 2, n);
            expected.push(r.clone());
            staging.push(r).expect("push");
        }
        let batches = drain(staging.finish().expect("finish"));
        let flat: Vec<&Staged> = batches.iter().flatten().collect();
        assert_eq!(flat.len() as u64, rows);
        for pair in flat.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert!((a.id.as_str(), a.row.line) < (b.id.as_str(), b.row.line), "key order");
        }
        for pair in batches.windows(2) {
            let (a, b) = (pair[0].last().expect("row"), pair[1].first().expect("row"));
            assert_ne!(a.id, b.id, "one phone's rows share a batch");
        }
        assert!(batches.iter().all(|b| b.len() <= WRITE_ROWS));
        let mut got: Vec<LeadRow> = flat.iter().map(|s| s.row.clone()).collect();
        got.sort_by_key(|r| r.line);
        assert_eq!(got, expected, "rows come back whole");
    }

    #[test]
    fn small_files_stay_in_memory_and_come_back_in_key_order() {
        check(15_000, 7);
    }

    #[test]
    fn large_files_spill_to_buckets_and_come_back_whole_in_key_order() {
        check(IN_MEMORY_ROWS as u64 + 5_000, 3);
    }

    #[test]
    fn buckets_are_ordered_like_the_ids() {
        let mut ids: Vec<LeadId> = (0..2_000).map(|n| LeadId::for_phone(&row(2, n).phone)).collect();
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let buckets: Vec<usize> = ids.iter().map(bucket_of).collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "ascending ids, ascending buckets");
        assert_eq!((buckets[0], buckets[buckets.len() - 1]), (0, BUCKETS - 1), "all buckets in use");
    }
}
