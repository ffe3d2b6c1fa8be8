//! End-to-end CSV import benchmark over the file-backed embedded store.
//!
//! Generates `IBRAT_BENCH_ROWS` (default 1,000,000) realistic, partly messy
//! rows (mixed phone formats, quoted notes with delimiters and line
//! breaks, blank lines, ~2% duplicates, ~1% bad numbers), then prints:
//! the raw parse rate of the file with the bare `csv` crate, rows per
//! second through `import::run` (reading, phone parsing, conditional lead
//! writes, rejected rows, checkpoints), and peak memory (VmHWM). The
//! service's own log lines (`import read`, `import completed`) give the
//! read and write passes' durations.
//!
//! `cargo bench -p ibrat-services --bench import`
//! `IBRAT_BENCH_ROWS=100000 cargo bench -p ibrat-services --bench import`
//!
//! `IBRAT_BENCH_STORE_ONLY=1` measures the store's share alone: `put_many`
//! of lead-shaped items with random ids, in batches of `WRITE_ROWS` (or
//! `IBRAT_BENCH_STORE_BATCH`), one durable commit each.

use std::io::{BufWriter, Write};
use std::time::Instant;

use ibrat_domain::ImportId;
use ibrat_local::RedbStore;
use ibrat_services::import;
use ibrat_testkit::TestDeps;

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

/// `IBRAT_BENCH_STORE_ONLY=1`: only the store's share.
fn store_only(rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    use ibrat_ports::{Condition, Store};
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let batch_rows: u64 = std::env::var("IBRAT_BENCH_STORE_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(import::staging::WRITE_ROWS as u64);
    rt.block_on(async {
        let store = RedbStore::open(dir.path().join("table.redb"))?;
        let mut rng = Lcg(7);
        let t = Instant::now();
        let mut done = 0;
        while done < rows {
            let n = (rows - done).min(batch_rows);
            let batch = (0..n)
                .map(|_| {
                    let id = format!("ld_{:016x}{:08x}", rng.next(), rng.next() as u32);
                    let item = ibrat_ports::Item::with_key(&ibrat_ports::Key::new(format!("LEAD#{id}"), "LEAD"))
                        .with("id", id.as_str())
                        .with("name", "Bobur Karimov")
                        .with("phone", "+998901234567")
                        .with("priority", "medium")
                        .with("status", "queued")
                        .with("attempts", 0i64)
                        .with("notes", "")
                        .with("timezone", "Asia/Tashkent")
                        .with("created_at", "2025-01-01T00:00:00.000Z")
                        .with("updated_at", "2025-01-01T00:00:00.000Z")
                        .with("next_attempt_at", "2025-01-01T00:00:00.000Z")
                        .with("import_id", "im_0123456789abcdef0123456789abcdef")
                        .with("import_line", done as i64)
                        .with("version", 1i64)
                        .with("gsi1pk", "LEADS#queued")
                        .with("gsi1sk", format!("1735689600000#{id}"))
                        .with("gsi2pk", format!("QUEUE#{}", rng.next() % 8))
                        .with("gsi2sk", format!("12#1735689600000#1735689600000#{id}"));
                    (item, Some(Condition::not_exists()))
                })
                .collect();
            store.put_many(batch).await?;
            done += n;
        }
        let secs = t.elapsed().as_secs_f64();
        println!("store only: {rows} put_many items in {secs:.2}s = {:.0} items/s", rows as f64 / secs);
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    if let Some(mb) = peak_memory_mb() {
        println!("peak memory (VmHWM): {mb:.1} MB");
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let rows: u64 = std::env::var("IBRAT_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    if std::env::var_os("IBRAT_BENCH_STORE_ONLY").is_some() {
        return store_only(rows);
    }
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("leads.csv");
    let bytes = generate(&csv_path, rows)?;
    println!("file: {rows} rows, {:.1} MB", bytes as f64 / 1e6);

    let t = Instant::now();
    let parsed = raw_parse(&csv_path)?;
    let secs = t.elapsed().as_secs_f64();
    println!("raw csv parse: {parsed} records in {secs:.2}s = {:.0} rows/s", parsed as f64 / secs);

    // The service logs how long reading and writing took.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("ibrat_services::import=info"))
        .without_time()
        .with_ansi(false)
        .with_target(false)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let summary = rt.block_on(async {
        // The kit's system over the file-backed store (on the pinned clock).
        let kit = TestDeps::builder().file_store(dir.path().join("table.redb")).build();
        let deps = &kit.deps;
        let file = std::fs::File::open(&csv_path)?;
        let t = Instant::now();
        let s = import::run(deps, &ImportId::new(), "leads.csv", None, file).await?;
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
