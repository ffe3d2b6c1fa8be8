//! Property test of the CSV reader and import pipeline over hostile files:
//! headers in any order and spelling, every delimiter, quotes opened and
//! never closed, stray carriage returns, NULs, byte-order marks, invalid
//! UTF-8, very long fields, random bytes spliced in anywhere. No file
//! panics or fails on our side: each either imports (every row counted
//! once as imported, duplicate, invalid or do-not-call) or is refused as a
//! whole with a code and a sentence. Prints how many files it tried.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use ibrat_domain::ImportId;
use ibrat_services::import::{self, ImportError};
use ibrat_testkit::TestDeps;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

/// A fresh system per file, with a small size cap so large files are
/// refused as well as read.
fn system() -> TestDeps {
    TestDeps::builder().config(|c| c.import_max_bytes = 256 * 1024).build()
}

const HEADERS: &[&str] = &[
    "phone",
    "Phone",
    "PHONE NUMBER",
    "mobile",
    "tel",
    "name",
    "Name",
    "email",
    "priority",
    "timezone",
    "notes",
    "company",
    "",
    " phone ",
    "phone",
    "\u{feff}phone",
];
const CELLS: &[&str] = &[
    "+998901234567",
    "901234567",
    "+998 90 123-45-67",
    "(90) 123 45 67",
    "+1 212 555 0100",
    "12",
    "",
    " ",
    "high",
    "low",
    "urgent",
    "Asia/Tashkent",
    "Nowhere/City",
    "a@b.c",
    "not an email",
    "Aziz Karimov",
    "Ўзбек",
    "🙂",
    "\"",
    "\"\"",
    "a\"b",
    "\"quoted, with delimiter\"",
    "\r",
    "\n",
    "\r\n",
    "=cmd|' /C calc'!A0",
];

/// A cell of text (any Unicode, quotes, line breaks, long runs).
fn text_cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(CELLS).prop_map(|c| c.as_bytes().to_vec()),
        2 => (900_000_000u64..999_999_999).prop_map(|n| format!("+998{n}").into_bytes()),
        1 => "\\PC{0,12}".prop_map(String::into_bytes),
        1 => (0usize..5000).prop_map(|n| "x".repeat(n).into_bytes()),
    ]
}

/// A cell that may also hold bytes that are not UTF-8.
fn binary_cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => text_cell(),
        1 => Just(b"\0".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

/// A row's cells, as bytes.
type Row = Vec<Vec<u8>>;
/// Bytes inserted at a position (taken modulo the file's length).
type Splice = (usize, Vec<u8>);

/// Rows of text, or (one file in four) rows and splices of raw bytes, so
/// that most files get past the encoding check into the row parser.
fn body() -> impl Strategy<Value = (Vec<Row>, Vec<Splice>)> {
    let rows = |cell: BoxedStrategy<Vec<u8>>| prop::collection::vec(prop::collection::vec(cell, 0..7), 0..30);
    prop_oneof![
        3 => (rows(text_cell().boxed()), Just(Vec::new())),
        1 => (
            rows(binary_cell().boxed()),
            prop::collection::vec((any::<usize>(), prop::collection::vec(any::<u8>(), 1..4)), 0..4)
        ),
    ]
}

/// A file: BOM, header, rows joined by a delimiter and line ending, then
/// random bytes spliced in.
#[derive(Debug, Clone)]
struct File {
    bom: Option<&'static [u8]>,
    header: Vec<&'static str>,
    rows: Vec<Row>,
    delimiter: u8,
    newline: &'static [u8],
    splices: Vec<Splice>,
}

fn file() -> impl Strategy<Value = File> {
    (
        prop::option::of(prop::sample::select(vec![&b"\xef\xbb\xbf"[..], &b"\xff\xfe"[..], &b"\xfe\xff"[..]])),
        prop::collection::vec(prop::sample::select(HEADERS), 0..6),
        body(),
        prop::sample::select(vec![b',', b';', b'\t', b'|', b' ']),
        prop::sample::select(vec![&b"\n"[..], &b"\r\n"[..], &b"\r"[..]]),
    )
        .prop_map(|(bom, header, (rows, splices), delimiter, newline)| File {
            bom,
            header,
            rows,
            delimiter,
            newline,
            splices,
        })
}

impl File {
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.bom.map(<[u8]>::to_vec).unwrap_or_default();
        out.extend(self.header.join(&char::from(self.delimiter).to_string()).into_bytes());
        out.extend_from_slice(self.newline);
        for row in &self.rows {
            out.extend(row.join(&self.delimiter));
            out.extend_from_slice(self.newline);
        }
        for (at, bytes) in &self.splices {
            let at = at % (out.len() + 1);
            out.splice(at..at, bytes.iter().copied());
        }
        out
    }
}

#[test]
fn no_csv_file_panics_or_fails_on_our_side() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (tried, bytes, outcomes) = (Cell::new(0u64), Cell::new(0u64), RefCell::new(BTreeMap::<String, u64>::new()));
    let mut runner = TestRunner::new(RunnerConfig { cases: 300, failure_persistence: None, ..RunnerConfig::default() });
    let result = runner.run(&file(), |f| {
        let csv = f.bytes();
        tried.set(tried.get() + 1);
        bytes.set(bytes.get() + csv.len() as u64);
        let sys = system();
        let outcome =
            rt.block_on(import::run(&sys.deps, &ImportId::new(), "fuzz.csv", None, std::io::Cursor::new(csv)));
        match outcome {
            Ok(s) => {
                let c = s.record.counts;
                prop_assert_eq!(c.rows, c.imported + c.duplicates + c.invalid + c.do_not_call, "{:?}", c);
                *outcomes.borrow_mut().entry("imported".into()).or_default() += 1;
            }
            Err(ImportError::Refused { error, .. }) => {
                prop_assert!(!error.code().is_empty() && !error.to_string().is_empty());
                *outcomes.borrow_mut().entry(format!("refused {}", error.code())).or_default() += 1;
            }
            Err(other) => prop_assert!(false, "failed on our side: {other:?}"),
        }
        Ok(())
    });
    result.unwrap_or_else(|e| panic!("{e}"));
    println!("fuzz CSV files: {} files, {} bytes, outcomes {:?}", tried.get(), bytes.get(), outcomes.borrow());
}
