//! Opening a CSV stream: the byte-order mark, the encoding check and the
//! delimiter are decided from the first chunk; the rest streams through
//! the `csv` crate, which handles quoting, embedded newlines, CRLF and LF.
//! Also the bridge from an async chunk stream to a blocking `Read`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Chain, Cursor, Read};
use std::rc::Rc;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc;

use super::{FileError, Halt, SourceError};

/// How much of the file is looked at to decide encoding and delimiter.
pub const SNIFF_BYTES: usize = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV reader over the whole stream, BOM removed, delimiter chosen.
pub type CsvReader<R> = csv::Reader<LineCounter<Chain<Cursor<Vec<u8>>, R>>>;

/// Reads the first chunk, refuses encodings other than UTF-8, picks the
/// delimiter and returns a reader over the whole stream, with the line
/// index that numbers its records.
pub(crate) fn open<R: Read>(mut input: R) -> Result<(CsvReader<R>, Rc<RefCell<Lines>>), Halt> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut input).take(SNIFF_BYTES as u64).read_to_end(&mut head).map_err(Halt::from_io)?;
    check_encoding(&head).map_err(Halt::File)?;
    if head.starts_with(UTF8_BOM) {
        head.drain(..UTF8_BOM.len());
    }
    let delimiter = sniff_delimiter(&head);
    let lines = Rc::new(RefCell::new(Lines::default()));
    let counted =
        LineCounter { inner: Read::chain(Cursor::new(head), input), lines: lines.clone(), offset: 0, last_cr: false };
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
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
}

/// Passes bytes through, noting where each newline is.
pub struct LineCounter<R> {
    inner: R,
    lines: Rc<RefCell<Lines>>,
    offset: u64,
    last_cr: bool,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut lines = self.lines.borrow_mut();
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

    #[test]
    fn refuses_other_encodings() {
        assert!(check_encoding(b"\xFF\xFEn\x00a\x00").is_err());
        assert!(check_encoding(b"name,phone\nJos\xE9,1\n").is_err());
        assert!(check_encoding("name,phone\nJosé,1\n".as_bytes()).is_ok());
        assert!(check_encoding(&"é".as_bytes()[..1]).is_ok());
    }
}
