//! `cargo bench -p ibrat-domain --bench phone`: ns per `Phone::parse_with_region`
//! call, fast path against the `phonenumber`-only reference, on the mix of
//! written forms a CSV lead import sees, on one thread and on two.

use ibrat_domain::{Phone, PhoneError, Region};
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

type Parse = fn(&str, Region) -> Result<(Phone, Option<Region>), PhoneError>;

const ROWS: usize = 100_000;

/// A deterministic generator, so every run parses the same corpus.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// 100k Uzbek numbers in the import's written forms, ~1% invalid.
fn uzbek_corpus() -> Vec<String> {
    const OPERATORS: &[&str] = &["90", "91", "93", "94", "95", "97", "98", "99", "33", "88", "77", "50"];
    let mut rng = Lcg(0x1b7a_d1a1);
    (0..ROWS)
        .map(|_| {
            let op = OPERATORS[rng.next(OPERATORS.len() as u64) as usize];
            let s = format!("{:07}", rng.next(10_000_000));
            let (a, b, c) = (&s[..3], &s[3..5], &s[5..]);
            match rng.next(100) {
                0 => format!("{}-{}", rng.next(90) + 10, rng.next(90) + 10),
                1..=25 => format!("+998{op}{s}"),
                26..=45 => format!("{op} {a} {b} {c}"),
                46..=60 => format!("+998 ({op}) {a}-{b}-{c}"),
                61..=68 => format!("00998{op}{s}"),
                69..=80 => format!("998{op}{s}"),
                81..=88 => format!("{op}{s}"),
                89..=94 => format!("({op}) {a}-{b}-{c}"),
                _ => format!("+998-{op}-{a}-{b}-{c}"),
            }
        })
        .collect()
}

/// The other regions' import forms, for comparison.
fn other_corpus() -> Vec<(String, Region)> {
    let forms: &[(&str, &str)] = &[
        ("(202) 555-0143", "US"),
        ("+1 202 555 0143", "UZ"),
        ("8 (495) 123-45-67", "RU"),
        ("+7 701 123 4567", "UZ"),
        ("020 7946 0958", "GB"),
        ("+44 20 7946 0958", "UZ"),
        ("030 123456", "DE"),
        ("01 42 68 53 00", "FR"),
    ];
    (0..ROWS / 10)
        .map(|i| {
            let (text, region) = forms[i % forms.len()];
            (text.to_owned(), Region::parse(region).unwrap())
        })
        .collect()
}

fn run(parse: Parse, rows: &[(String, Region)]) -> usize {
    rows.iter().filter(|(text, region)| black_box(parse(black_box(text), *region)).is_ok()).count()
}

/// Best of three passes over `rows`, in ns per call.
fn single(parse: Parse, rows: &[(String, Region)]) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            black_box(run(parse, rows));
            start.elapsed()
        })
        .min()
        .map_or(0.0, |d| per_call(d, rows.len()))
}

/// Two threads each parsing all of `rows`: wall-clock ns per call overall.
fn two_threads(parse: Parse, rows: &[(String, Region)]) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            thread::scope(|s| {
                let workers: Vec<_> = (0..2).map(|_| s.spawn(|| run(parse, rows))).collect();
                for worker in workers {
                    black_box(worker.join().unwrap());
                }
            });
            start.elapsed()
        })
        .min()
        .map_or(0.0, |d| per_call(d, 2 * rows.len()))
}

fn per_call(elapsed: Duration, calls: usize) -> f64 {
    elapsed.as_nanos() as f64 / calls as f64
}

fn report(name: &str, rows: &[(String, Region)]) {
    let fast: Parse = Phone::parse_with_region;
    let reference: Parse = Phone::parse_with_region_reference;
    // Warm both: compiled patterns, the reference's regex cache.
    let valid = run(fast, rows);
    assert_eq!(valid, run(reference, rows), "the fast path disagrees with the reference");
    println!("{name}: {} rows, {valid} valid", rows.len());
    for (label, parse) in [("new", fast), ("phonenumber", reference)] {
        let one = single(parse, rows);
        let two = two_threads(parse, rows);
        println!(
            "  {label:<12} 1 thread {one:>8.0} ns/call | 2 threads {two:>8.0} ns/call wall ({:.2}x throughput)",
            one / two
        );
    }
}

fn main() {
    let uz = Region::default();
    let start = Instant::now();
    let _ = Phone::parse_with_region_reference("+998901234567", uz);
    println!("first reference call (loads phonenumber's database): {:?}", start.elapsed());
    let start = Instant::now();
    let _ = Phone::parse_with_region("+998901234567", uz);
    println!("first fast call (indexes it, compiles UZ's patterns): {:?}", start.elapsed());
    let uzbek: Vec<(String, Region)> = uzbek_corpus().into_iter().map(|s| (s, uz)).collect();
    report("Uzbek import mix", &uzbek);
    report("other regions' forms", &other_corpus());
}
