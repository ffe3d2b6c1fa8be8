//! Property test of the CSV reader and import pipeline over hostile files:
//! headers in any order and spelling, every delimiter, quotes opened and
//! never closed, stray carriage returns, NULs, byte-order marks, invalid
//! UTF-8, very long fields, random bytes spliced in anywhere. No file
//! panics or fails on our side: each either imports (every row counted
//! once as imported, duplicate, invalid or do-not-call) or is refused as a
//! whole with a code and a sentence. Prints how many files it tried.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ibrat_domain::ImportId;
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CreateCall, ManualClock, NoConnections, NullPublisher, PlacedCall, RemoteCall, Telephony, TelephonyError,
};
use ibrat_services::import::{self, ImportError};
use ibrat_services::{Config, Deps};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

struct NoTelephony;

#[async_trait]
impl Telephony for NoTelephony {
    async fn create_call(&self, _req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        Err(TelephonyError::NotFound)
    }
    async fn fetch_call(&self, _sid: &str) -> Result<RemoteCall, TelephonyError> {
        Err(TelephonyError::NotFound)
    }
    async fn end_call(&self, _sid: &str) -> Result<(), TelephonyError> {
        Ok(())
    }
}

fn deps(dir: &std::path::Path) -> Deps {
    let start: DateTime<Utc> = "2026-11-24T06:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let mut config = Config::for_tests();
    config.import_max_bytes = 256 * 1024;
    Deps {
        store: Arc::new(RedbStore::in_memory().unwrap().with_clock(clock.clone())),
        queue: Arc::new(MemQueue::new()),
        events: Arc::new(NullPublisher),
        connections: Arc::new(NoConnections),
        telephony: Arc::new(NoTelephony),
        blobs: Arc::new(FsBlobStore::new(dir, "http://127.0.0.1:1/uploads")),
        clock,
        config: Arc::new(config),
    }
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
    "\0",
    "=cmd|' /C calc'!A0",
];

fn cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(CELLS).prop_map(|c| c.as_bytes().to_vec()),
        2 => (900_000_000u64..999_999_999).prop_map(|n| format!("+998{n}").into_bytes()),
        1 => "\\PC{0,12}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..12),
        1 => (0usize..5000).prop_map(|n| "x".repeat(n).into_bytes()),
    ]
}

/// A file: BOM, header, rows joined by a delimiter and line ending, then
/// random bytes spliced in.
#[derive(Debug, Clone)]
struct File {
    bom: Option<&'static [u8]>,
    header: Vec<&'static str>,
    rows: Vec<Vec<Vec<u8>>>,
    delimiter: u8,
    newline: &'static [u8],
    splices: Vec<(usize, Vec<u8>)>,
}

fn file() -> impl Strategy<Value = File> {
    (
        prop::option::of(prop::sample::select(vec![&b"\xef\xbb\xbf"[..], &b"\xff\xfe"[..], &b"\xfe\xff"[..]])),
        prop::collection::vec(prop::sample::select(HEADERS), 0..6),
        prop::collection::vec(prop::collection::vec(cell(), 0..7), 0..30),
        prop::sample::select(vec![b',', b';', b'\t', b'|', b' ']),
        prop::sample::select(vec![&b"\n"[..], &b"\r\n"[..], &b"\r"[..]]),
        prop::collection::vec((any::<usize>(), prop::collection::vec(any::<u8>(), 1..4)), 0..4),
    )
        .prop_map(|(bom, header, rows, delimiter, newline, splices)| File {
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
    let dir = tempfile::tempdir().unwrap();
    let (mut tried, mut bytes, mut outcomes) = (0u64, 0u64, BTreeMap::<String, u64>::new());
    let mut runner = TestRunner::new(RunnerConfig { cases: 300, failure_persistence: None, ..RunnerConfig::default() });
    let result = runner.run(&file(), |f| {
        let csv = f.bytes();
        tried += 1;
        bytes += csv.len() as u64;
        let outcome =
            rt.block_on(import::run(&deps(dir.path()), &ImportId::new(), "fuzz.csv", None, std::io::Cursor::new(csv)));
        match outcome {
            Ok(s) => {
                let c = s.record.counts;
                prop_assert_eq!(c.rows, c.imported + c.duplicates + c.invalid + c.do_not_call, "{:?}", c);
                *outcomes.entry("imported".into()).or_default() += 1;
            }
            Err(ImportError::Refused { error, .. }) => {
                prop_assert!(!error.code().is_empty() && !error.to_string().is_empty());
                *outcomes.entry(format!("refused {}", error.code())).or_default() += 1;
            }
            Err(other) => prop_assert!(false, "failed on our side: {other:?}"),
        }
        Ok(())
    });
    result.unwrap_or_else(|e| panic!("{e}"));
    println!("fuzz CSV files: {tried} files, {bytes} bytes, outcomes {outcomes:?}");
}
