//! Cold-start benchmark of the six Lambda binaries.
//!
//! For each binary and each run: a local stand-in for the Lambda runtime API
//! listens on a fresh port, the binary starts with
//! `AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT` and the environment
//! `template.yaml` gives it (fake AWS credentials, a well-formed Twilio
//! account, a 32+ character JWT secret), and the time from spawning the
//! process to its first `GET /2018-06-01/runtime/invocation/next` is
//! recorded. That is the function's own init: everything `main` does before
//! it asks for work. The connection is held, never answered, and the process
//! is killed.
//!
//! ```text
//! coldstart [--runs N] [--warmup N] [--target-ms MS] [--strict] [--dir DIR] [NAME=PATH | PATH]...
//! ```
//! Without paths it takes, for each function, `target/lambda/<fn>/bootstrap`
//! (cargo-lambda) or else `target/release/<fn>`; `--dir DIR` uses `DIR/<fn>`.
//! Prints median, p90, min and max per binary; exits 1 when a binary fails to
//! reach `/next`, and with `--strict` also when a median misses the target.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The Lambda functions, by binary name (functions/*/Cargo.toml `[[bin]]`).
const FUNCTIONS: [&str; 6] = ["api", "csv-import", "dialer", "twilio-webhook", "ws", "scheduler"];

/// The first request every runtime client makes once init is done.
const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";

/// How long one start may take before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(10);

struct Options {
    runs: usize,
    warmup: usize,
    target_ms: f64,
    strict: bool,
    binaries: Vec<(String, PathBuf)>,
}

fn usage() -> &'static str {
    "usage: coldstart [--runs N] [--warmup N] [--target-ms MS] [--strict] [--dir DIR] [NAME=PATH | PATH]..."
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options { runs: 20, warmup: 1, target_ms: 20.0, strict: false, binaries: Vec::new() };
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n{}", usage()));
        match arg.as_str() {
            "--runs" => opts.runs = value("--runs")?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--warmup" => opts.warmup = value("--warmup")?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--target-ms" => opts.target_ms = value("--target-ms")?.parse().map_err(|e| format!("--target-ms: {e}"))?,
            "--dir" => dir = Some(PathBuf::from(value("--dir")?)),
            "--strict" => opts.strict = true,
            "-h" | "--help" => return Err(usage().to_owned()),
            path => {
                let (name, path) = match path.split_once('=') {
                    Some((name, path)) => (name.to_owned(), PathBuf::from(path)),
                    None => (binary_name(Path::new(path)), PathBuf::from(path)),
                };
                opts.binaries.push((name, path));
            }
        }
    }
    if opts.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    if opts.binaries.is_empty() {
        opts.binaries = default_binaries(dir.as_deref())?;
    }
    Ok(opts)
}

/// `target/lambda/api/bootstrap` is "api"; `target/release/api` is "api".
fn binary_name(path: &Path) -> String {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    if file == "bootstrap" {
        if let Some(parent) = path.parent().and_then(|p| p.file_name()).and_then(|f| f.to_str()) {
            return parent.to_owned();
        }
    }
    file.to_owned()
}

fn default_binaries(dir: Option<&Path>) -> Result<Vec<(String, PathBuf)>, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    FUNCTIONS
        .iter()
        .map(|name| {
            let candidates = match dir {
                Some(dir) => vec![dir.join(name)],
                None => vec![target.join("lambda").join(name).join("bootstrap"), target.join("release").join(name)],
            };
            candidates
                .iter()
                .find(|p| p.is_file())
                .map(|p| ((*name).to_owned(), p.clone()))
                .ok_or_else(|| format!("no binary for {name}: looked at {candidates:?} (build them first)"))
        })
        .collect()
}

/// The workspace root: two levels above this crate's manifest.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The environment Lambda and `template.yaml` give a function, with fake
/// credentials and identifiers. Nothing else of this process's environment
/// leaks in (no ~/.aws profile, no proxy settings).
fn lambda_env(function: &str, runtime_api: SocketAddr) -> Vec<(&'static str, String)> {
    let region = "us-east-1";
    let account = "123456789012";
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_REGION", region.into()),
        ("AWS_DEFAULT_REGION", region.into()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        ("AWS_SESSION_TOKEN", "coldstart-fake-session-token".into()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("ibrat-bench-{function}")),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/ibrat-bench-{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2025/01/01/[$LATEST]coldstart".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("RUST_LOG", "info".into()),
        ("TABLE_NAME", "ibrat-bench".into()),
        ("DIAL_QUEUE_URL", format!("https://sqs.{region}.amazonaws.com/{account}/ibrat-bench-dial")),
        ("IMPORTS_BUCKET", format!("ibrat-bench-imports-{account}")),
        ("WS_ENDPOINT", format!("https://abcdef1234.execute-api.{region}.amazonaws.com/bench")),
        ("IBRAT_DEFAULT_REGION", "UZ".into()),
        ("IBRAT_JWT_SECRET", "coldstart-jwt-secret-0123456789abcdef".into()),
        ("IBRAT_PUBLIC_URL", "https://abcdefghij.lambda-url.us-east-1.on.aws".into()),
        ("IBRAT_CORS_ORIGINS", "https://dialer.example.com".into()),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef".into()),
        ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef".into()),
        ("TWILIO_FROM_NUMBER", "+15005550006".into()),
    ]
}

/// What the runtime API stand-in saw first.
enum Seen {
    /// The first `/next`, when it arrived, and the connection (held open).
    Next(Instant, TcpStream),
    /// Any other first request (an init error report): its request line and body.
    Other(String),
}

/// Accepts one connection and reads its request.
fn serve_one(listener: TcpListener, tx: mpsc::Sender<Seen>) {
    let Ok((stream, _)) = listener.accept() else { return };
    let Ok(read_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let at = Instant::now();
    if line.starts_with(NEXT) {
        let _ = tx.send(Seen::Next(at, stream));
        return;
    }
    // Not /next: read headers and body (an init error), answer 202.
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length.min(64 * 1024)];
    let _ = reader.read_exact(&mut body);
    let mut stream = stream;
    let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
    let _ = tx.send(Seen::Other(format!("{} {}", line.trim_end(), String::from_utf8_lossy(&body))));
}

/// One cold start: milliseconds from spawn to the first `/next`.
fn start_once(name: &str, path: &Path) -> Result<f64, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("local_addr: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let server = thread::spawn(move || serve_one(listener, tx));

    let mut command = Command::new(path);
    command.env_clear().envs(lambda_env(name, addr)).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", path.display()))?;

    let outcome = loop {
        match rx.recv_timeout(Duration::from_millis(2)) {
            Ok(Seen::Next(at, held)) => break Ok((at.duration_since(started), held)),
            Ok(Seen::Other(request)) => break Err(format!("first request was not /next: {request}")),
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err("the runtime API stand-in stopped".into()),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            // It may have asked just before exiting; look once more.
            if let Ok(Seen::Next(at, held)) = rx.try_recv() {
                break Ok((at.duration_since(started), held));
            }
            break Err(format!("exited with {status} before asking for work"));
        }
        if started.elapsed() > START_TIMEOUT {
            break Err(format!("no /next within {START_TIMEOUT:?}"));
        }
    };

    let _ = child.kill();
    let _ = child.wait();
    let result = match outcome {
        Ok((elapsed, held)) => {
            drop(held);
            Ok(elapsed.as_secs_f64() * 1000.0)
        }
        Err(why) => {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            let tail: String =
                stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n    ");
            Err(if tail.is_empty() { why } else { format!("{why}; stderr:\n    {tail}") })
        }
    };
    // Unblock the stand-in if nothing ever connected.
    if !server.is_finished() {
        let _ = TcpStream::connect(addr);
    }
    let _ = server.join();
    result
}

/// The value at `q` (0..=1) of sorted samples, nearest rank.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn size_mib(path: &Path) -> String {
    std::fs::metadata(path).map_or_else(|_| "?".into(), |m| format!("{:.1}", m.len() as f64 / (1024.0 * 1024.0)))
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    println!(
        "cold start: spawn -> first GET /2018-06-01/runtime/invocation/next, {} runs (+{} warm-up) per binary, target {} ms",
        opts.runs, opts.warmup, opts.target_ms
    );
    println!();
    println!("| function | binary | MiB | median ms | p90 ms | min ms | max ms | |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    let mut failed = false;
    let mut slow = false;
    for (name, path) in &opts.binaries {
        let mut samples = Vec::with_capacity(opts.runs);
        let mut error = None;
        for i in 0..opts.warmup + opts.runs {
            match start_once(name, path) {
                Ok(ms) if i >= opts.warmup => samples.push(ms),
                Ok(_) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let shown = path.strip_prefix(workspace_root()).unwrap_or(path).display().to_string();
        if let Some(e) = error {
            failed = true;
            println!("| {name} | {shown} | {} | - | - | - | - | FAILED |", size_mib(path));
            eprintln!("{name}: {e}");
            continue;
        }
        samples.sort_by(f64::total_cmp);
        let median = percentile(&samples, 0.5);
        let verdict = if median <= opts.target_ms { "ok" } else { "SLOW" };
        slow |= median > opts.target_ms;
        println!(
            "| {name} | {shown} | {} | {median:.1} | {:.1} | {:.1} | {:.1} | {verdict} |",
            size_mib(path),
            percentile(&samples, 0.9),
            samples[0],
            samples[samples.len() - 1],
        );
    }
    if failed || (opts.strict && slow) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&s, 0.5), 5.0);
        assert_eq!(percentile(&s, 0.9), 9.0);
        assert_eq!(percentile(&[3.0], 0.9), 3.0);
    }

    #[test]
    fn names_come_from_cargo_lambda_and_release_paths() {
        assert_eq!(binary_name(Path::new("target/lambda/twilio-webhook/bootstrap")), "twilio-webhook");
        assert_eq!(binary_name(Path::new("target/release/csv-import")), "csv-import");
    }

    #[test]
    fn the_environment_satisfies_the_mains() {
        let env = lambda_env("api", "127.0.0.1:9001".parse().unwrap());
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap();
        let sid = get("TWILIO_ACCOUNT_SID");
        assert!(sid.len() == 34 && sid.starts_with("AC") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(get("IBRAT_JWT_SECRET").len() >= 32);
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001");
    }

    /// The stand-in records a `/next` and holds the connection.
    #[test]
    fn the_stand_in_records_next() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        let server = thread::spawn(move || serve_one(listener, tx));
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        assert!(matches!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Seen::Next(..)));
        server.join().unwrap();
    }
}
