//! Opening a CSV stream: the byte-order mark, the encoding check and the
//! delimiter are decided from the first chunk; the rest streams through
//! the `csv` crate, which handles quoting, embedded newlines, CRLF and LF.
//! Also the bridge from an async chunk stream to a blocking `Read`.
//!
//! Bounds: a record is never held past [`MAX_RECORD_BYTES`] (plus one read
//! buffer). An unclosed quote would otherwise make the rest of the file one
//! record in memory; instead reading stops with
//! [`FileError::RecordTooLong`] naming the line the record starts on, and
//! the records before it stay accepted. A complete record with a cell over
//! [`MAX_FIELD_BYTES`] is refused as a row (reading goes on).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Chain, Cursor, Read};
use std::rc::Rc;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc;

use super::{FileError, Halt, SourceError};

/// How much of the file is looked at to decide encoding and delimiter.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Longest record held while reading, in bytes (a valid lead row is far
/// shorter: 5,000 characters of notes and 1,000 per custom value).
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;
/// Longest cell of a record, in bytes.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// The `csv` reader's buffer: at most this much is read past a record.
const READ_BUFFER: usize = 256 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV reader over the whole stream, BOM removed, delimiter chosen.
pub type CsvReader<R> = csv::Reader<LineCounter<Chain<Cursor<Vec<u8>>, R>>>;

/// Reads the first chunk, refuses encodings other than UTF-8, picks the
/// delimiter and returns a reader over the whole stream, with the line
/// index that numbers its records.
pub(crate) fn open<R: Read>(input: R) -> Result<(CsvReader<R>, Rc<RefCell<Lines>>), Halt> {
    open_bounded(input, MAX_RECORD_BYTES)
}

/// [`open`] with another record bound (tests use small ones).
pub(crate) fn open_bounded<R: Read>(
    mut input: R,
    max_record_bytes: u64,
) -> Result<(CsvReader<R>, Rc<RefCell<Lines>>), Halt> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut input).take(SNIFF_BYTES as u64).read_to_end(&mut head).map_err(Halt::from_io)?;
    check_encoding(&head).map_err(Halt::File)?;
    if head.starts_with(UTF8_BOM) {
        head.drain(..UTF8_BOM.len());
    }
    let delimiter = sniff_delimiter(&head);
    let lines = Rc::new(RefCell::new(Lines::default()));
    let counted = LineCounter {
        inner: Read::chain(Cursor::new(head), input),
        lines: lines.clone(),
        offset: 0,
        last_cr: false,
        max_record_bytes,
    };
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(READ_BUFFER)
        .from_reader(counted);
    Ok((reader, lines))
}

/// Newlines seen by the reader and not yet behind a record. The `csv`
/// crate's own line numbers drift on CRLF files, so records are numbered
/// from their byte offsets instead.
#[derive(Debug, Default)]
pub struct Lines {
    /// Offsets of newlines ahead of the last record asked about, and
    /// whether a carriage return came just before each.
    pending: VecDeque<(u64, bool)>,
    /// Newlines before the last record asked about.
    before: u64,
    /// Where the record being read starts (the end of the last one read).
    record_start: u64,
}

impl Lines {
    /// The 1-based line a record starts on, given the byte offset `csv`
    /// reports (which points before any blank lines the record follows).
    pub fn line_at(&mut self, start: u64) -> u64 {
        while self.pending.front().is_some_and(|&(p, _)| p < start) {
            self.pending.pop_front();
            self.before += 1;
        }
        let mut content = start;
        while let Some(&(p, cr)) = self.pending.front() {
            if p == content || (cr && p == content + 1) {
                self.pending.pop_front();
                self.before += 1;
                content = p + 1;
            } else {
                break;
            }
        }
        self.before + 1
    }

    /// Notes that the reader has read every record up to byte `end` (its
    /// position after a record), so the next record starts there.
    pub fn record_read(&mut self, end: u64) {
        self.record_start = end;
    }
}

/// Passes bytes through, noting where each newline is.
/// Refuses to feed a record past its bound.
pub struct LineCounter<R> {
    inner: R,
    lines: Rc<RefCell<Lines>>,
    offset: u64,
    last_cr: bool,
    max_record_bytes: u64,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut lines = self.lines.borrow_mut();
        // The reader asks for more only once it has parsed every byte it
        // holds: everything since the record's start belongs to that record.
        let start = lines.record_start;
        if self.offset.saturating_sub(start) > self.max_record_bytes {
            let line = lines.line_at(start);
            return Err(std::io::Error::other(FileError::RecordTooLong { line, max_bytes: self.max_record_bytes }));
        }
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                lines.pending.push_back((self.offset + i as u64, self.last_cr));
            }
            self.last_cr = b == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Refuses UTF-16/32 (by BOM or by NUL bytes) and bytes that are not UTF-8.
fn check_encoding(head: &[u8]) -> Result<(), FileError> {
    let named = if head.starts_with(b"\x00\x00\xFE\xFF") || head.starts_with(b"\xFF\xFE\x00\x00") {
        Some("UTF-32")
    } else if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") || head.contains(&0) {
        Some("UTF-16")
    } else {
        None
    };
    if let Some(encoding) = named {
        return Err(FileError::Encoding(format!(
            "the file is {encoding}; save it as UTF-8 (CSV UTF-8) and upload it again"
        )));
    }
    match std::str::from_utf8(head) {
        Ok(_) => Ok(()),
        // A character cut in two at the end of the first chunk is fine.
        Err(e) if e.error_len().is_none() => Ok(()),
        Err(e) => Err(FileError::Encoding(format!(
            "the file is not UTF-8 (byte {} is not valid UTF-8; Excel's \"CSV UTF-8\" format works); save it as UTF-8 and upload it again",
            e.valid_up_to() + 1
        ))),
    }
}

/// The delimiter among comma, semicolon and tab that occurs most often,
/// outside quotes, on the first line (comma on a tie or when none occurs).
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// A blocking `Read` over chunks sent from async code, counting bytes and
/// refusing more than `max_bytes`. Used on a blocking thread only.
pub struct ChunkReader {
    rx: mpsc::Receiver<Result<Bytes, SourceError>>,
    current: Bytes,
    read: u64,
    max_bytes: u64,
}

impl ChunkReader {
    /// A reader over `rx`, failing once more than `max_bytes` arrive.
    pub fn new(rx: mpsc::Receiver<Result<Bytes, SourceError>>, max_bytes: u64) -> Self {
        ChunkReader { rx, current: Bytes::new(), read: 0, max_bytes }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                Some(Ok(chunk)) => {
                    self.read += chunk.len() as u64;
                    if self.read > self.max_bytes {
                        return Err(std::io::Error::other(SourceError::TooLarge { max_bytes: self.max_bytes }));
                    }
                    self.current = chunk;
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_delimiter_of_the_header_line() {
        assert_eq!(sniff_delimiter(b"name;phone;\"a,b,c\"\n1,2,3,4,5"), b';');
        assert_eq!(sniff_delimiter(b"name\tphone\n"), b'\t');
        assert_eq!(sniff_delimiter(b"name,phone\r\n"), b',');
        assert_eq!(sniff_delimiter(b"phone\n"), b',');
    }

    fn lines_of(data: &str) -> Vec<(String, u64)> {
        let (mut rdr, lines) = open(data.as_bytes()).map_err(|_| "open").unwrap_or_else(|e| panic!("{e}"));
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap_or(false) {
            let start = rec.position().map(|p| p.byte()).unwrap_or(0);
            out.push((String::from_utf8_lossy(&rec[0]).into_owned(), lines.borrow_mut().line_at(start)));
        }
        out
    }

    #[test]
    fn records_are_numbered_by_the_line_they_start_on() {
        let want = |v: &[(&str, u64)]| v.iter().map(|(s, n)| (s.to_string(), *n)).collect::<Vec<_>>();
        let expected = want(&[("h", 1), ("a", 3), ("x\ny", 4), ("c", 7)]);
        assert_eq!(lines_of("h\n\na\n\"x\ny\"\n\nc\n"), expected);
        let expected = want(&[("h", 1), ("a", 3), ("x\r\ny", 4), ("c", 7)]);
        assert_eq!(lines_of("\u{feff}h\r\n\r\na\r\n\"x\r\ny\"\r\n\r\nc"), expected);
    }

    /// Reads every record with a small bound; the lines read, then the error.
    fn bounded_read(data: &[u8], max: u64) -> (Vec<u64>, Option<FileError>) {
        let (mut rdr, lines) = open_bounded(data, max).map_err(|_| "open").unwrap_or_else(|e| panic!("{e}"));
        let mut rec = csv::ByteRecord::new();
        let mut read = Vec::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => return (read, None),
                Ok(true) => {
                    let mut lines = lines.borrow_mut();
                    read.push(lines.line_at(rec.position().map(|p| p.byte()).unwrap_or(0)));
                    lines.record_read(rdr.position().byte());
                }
                Err(e) => match Halt::from_csv(e) {
                    Halt::File(f) => return (read, Some(f)),
                    Halt::Source(s) => panic!("source error {s}"),
                },
            }
        }
    }

    #[test]
    fn an_unclosed_quote_stops_at_the_bound_naming_its_line() {
        // 300 KiB of rows, then a quote that never closes and 2 MiB more.
        let mut data = b"phone,notes\n".to_vec();
        let rows = 300 * 1024 / 16;
        for i in 0..rows {
            data.extend_from_slice(format!("9012{i:05},ok\n").as_bytes());
        }
        data.extend_from_slice(b"901234567,\"never closed\n");
        while data.len() < 3 * 1024 * 1024 {
            data.extend_from_slice(b"901234568,more\n");
        }
        let (read, err) = bounded_read(&data, 512 * 1024);
        assert_eq!(read.len(), rows + 1, "every record before the open quote is read");
        assert_eq!(err, Some(FileError::RecordTooLong { line: rows as u64 + 2, max_bytes: 512 * 1024 }));
        // Without the open quote the same file reads to its end.
        let fixed: Vec<u8> = data.iter().copied().filter(|&b| b != b'"').collect();
        let (read, err) = bounded_read(&fixed, 512 * 1024);
        assert_eq!(err, None);
        assert!(read.len() > rows + 1);
    }

    #[test]
    fn records_near_the_bound_are_read() {
        let long = "x".repeat(100 * 1024);
        let data = format!("phone,notes\n1,\"{long}\"\n2,\"{long}\"\n3,ok\n");
        let (read, err) = bounded_read(data.as_bytes(), 150 * 1024);
        assert_eq!((read, err), (vec![1, 2, 3, 4], None));
    }

    #[test]
    fn refuses_other_encodings() {
        assert!(check_encoding(b"\xFF\xFEn\x00a\x00").is_err());
        assert!(check_encoding(b"name,phone\nJos\xE9,1\n").is_err());
        assert!(check_encoding("name,phone\nJosé,1\n".as_bytes()).is_ok());
        assert!(check_encoding(&"é".as_bytes()[..1]).is_ok());
    }
}
