//! End-to-end CSV import benchmark over the file-backed embedded store.
//!
//! Generates `IBRAT_BENCH_ROWS` (default 1,000,000) realistic, partly messy
//! rows (mixed phone formats, quoted notes with delimiters and line
//! breaks, blank lines, ~2% duplicates, ~1% bad numbers), then prints:
//! the raw parse rate of the file with the bare `csv` crate, rows per
//! second through `import::run` (reading, phone parsing, conditional lead
//! writes, rejected rows, checkpoints), and peak memory (VmHWM).
//!
//! `cargo bench -p ibrat-services --bench import`
//! `IBRAT_BENCH_ROWS=100000 cargo bench -p ibrat-services --bench import`

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use ibrat_domain::ImportId;
use ibrat_local::{MemQueue, RedbStore};
use ibrat_ports::{CreateCall, NullPublisher, PlacedCall, RemoteCall, SystemClock, Telephony, TelephonyError};
use ibrat_services::{import, Config, Deps};

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

/// A small deterministic generator (no dependency, same file every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

const NAMES: [&str; 8] = ["Bobur", "Aziza", "Dilnoza", "Javlon", "Kamola", "Sardor", "Malika", "Timur"];
const SURNAMES: [&str; 6] = ["Karimov", "Yusupova", "Saidov", "Rashidova", "Tursunov", "Aliyeva"];
const PRIORITIES: [&str; 6] = ["", "urgent", "high", "medium", "low", "2"];
const PREFIXES: [&str; 6] = ["90", "91", "93", "94", "97", "99"];

fn phone_cell(rng: &mut Lcg, n: u64) -> String {
    let prefix = PREFIXES[(n % 6) as usize];
    let sub = 1_000_000 + (n * 7919) % 8_999_999;
    let d = format!("{prefix}{sub:07}");
    match rng.next() % 5 {
        0 => format!("+998{d}"),
        1 => format!("{} {} {} {}", &d[..2], &d[2..5], &d[5..7], &d[7..]),
        2 => format!("\"+998 ({}) {}-{}-{}\"", &d[..2], &d[2..5], &d[5..7], &d[7..]),
        3 => format!("00998{d}"),
        _ => format!("998{d}"),
    }
}

fn generate(path: &std::path::Path, rows: u64) -> std::io::Result<u64> {
    let mut rng = Lcg(42);
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    w.write_all(b"\xEF\xBB\xBFFull Name,Phone Number,Email,Priority,City,Notes\r\n")?;
    for i in 0..rows {
        let r = rng.next();
        let name = format!("{} {}", NAMES[(r % 8) as usize], SURNAMES[((r >> 3) % 6) as usize]);
        let phone = match r % 100 {
            0 => "12-34".to_owned(),
            1 | 2 if i > 10 => phone_cell(&mut rng, i - 7),
            _ => phone_cell(&mut rng, i),
        };
        let email = if r % 3 == 0 { format!("user{i}@example.com") } else { String::new() };
        let notes = match r % 10 {
            0 => "\"called before, said \"\"call back\"\", busy\"".to_owned(),
            1 => "\"two\r\nlines\"".to_owned(),
            _ => String::new(),
        };
        let priority = PRIORITIES[((r >> 5) % 6) as usize];
        write!(w, "{name},{phone},{email},{priority},Tashkent,{notes}\r\n")?;
        if r % 500 == 0 {
            w.write_all(b"\r\n")?;
        }
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn raw_parse(path: &std::path::Path) -> Result<u64, Box<dyn std::error::Error>> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while rdr.read_byte_record(&mut rec)? {
        n += 1;
    }
    Ok(n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let rows: u64 = std::env::var("IBRAT_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("leads.csv");
    let bytes = generate(&csv_path, rows)?;
    println!("file: {rows} rows, {:.1} MB", bytes as f64 / 1e6);

    let t = Instant::now();
    let parsed = raw_parse(&csv_path)?;
    let secs = t.elapsed().as_secs_f64();
    println!("raw csv parse: {parsed} records in {secs:.2}s = {:.0} rows/s", parsed as f64 / secs);

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let summary = rt.block_on(async {
        let deps = Deps {
            store: Arc::new(RedbStore::open(dir.path().join("table.redb"))?),
            queue: Arc::new(MemQueue::new()),
            events: Arc::new(NullPublisher),
            telephony: Arc::new(NoTelephony),
            blobs: Arc::new(ibrat_local::FsBlobStore::new(dir.path().join("blobs"), "http://127.0.0.1:1")),
            clock: Arc::new(SystemClock),
            config: Arc::new(Config::for_tests()),
        };
        let file = std::fs::File::open(&csv_path)?;
        let t = Instant::now();
        let s = import::run(&deps, &ImportId::new(), "leads.csv", None, file).await?;
        Ok::<_, Box<dyn std::error::Error>>((s, t.elapsed().as_secs_f64()))
    })?;
    let (s, secs) = summary;
    let c = s.record.counts;
    println!(
        "import: {} rows in {secs:.2}s = {:.0} rows/s end to end (imported {}, duplicates {}, invalid {}, do-not-call {})",
        c.rows,
        c.rows as f64 / secs,
        c.imported,
        c.duplicates,
        c.invalid,
        c.do_not_call
    );
    match peak_memory_mb() {
        Some(mb) => println!("peak memory (VmHWM): {mb:.1} MB"),
        None => println!("peak memory: unavailable (no /proc/self/status)"),
    }
    Ok(())
}
