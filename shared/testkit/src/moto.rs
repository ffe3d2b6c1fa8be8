//! The moto AWS emulator as a child process, so adapter tests
//! (here and end to end) run against a real DynamoDB/SQS/S3 API without an
//! AWS account. Never skips: a missing emulator is a loud failure telling
//! how to install it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use crate::serial_proxy::serialized;

/// Environment variable naming the `moto_server` binary explicitly.
pub const MOTO_SERVER_ENV: &str = "IBRAT_MOTO_SERVER";

/// How long the emulator may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server on a loopback port, killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    endpoint: String,
    /// moto's output, shown when it fails to start.
    log: PathBuf,
    /// Where moto's request recorder writes (by default its working
    /// directory, i.e. the source tree).
    recording: PathBuf,
}

/// The workspace root (this crate lives at `shared/testkit`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$IBRAT_MOTO_SERVER`, else `<workspace>/.venv/bin/moto_server`, else
/// `moto_server` on `PATH`.
pub fn find_moto_server() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(MOTO_SERVER_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(explicit));
    }
    let venv = workspace_root().join(".venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("moto_server")).find(|p| p.is_file())
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

impl Moto {
    /// Starts moto on a free port and waits until it accepts connections.
    ///
    /// # Panics
    /// When `moto_server` cannot be found or does not start: run
    /// `./scripts/setup-emulator.sh` to install it into `./.venv`.
    pub async fn start() -> Moto {
        let Some(binary) = find_moto_server() else {
            panic!(
                "moto_server not found (looked at ${MOTO_SERVER_ENV}, {}, and PATH): \
                 run ./scripts/setup-emulator.sh to install the AWS emulator",
                workspace_root().join(".venv/bin/moto_server").display()
            );
        };
        let mut last_error = String::new();
        // A port found free may be taken before moto binds it: try again.
        for _ in 0..3 {
            match Self::try_start(&binary).await {
                Ok(moto) => return moto,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "moto_server at {} did not start: {last_error}\n\
             run ./scripts/setup-emulator.sh to (re)install the AWS emulator",
            binary.display()
        );
    }

    async fn try_start(binary: &Path) -> Result<Moto, String> {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("ibrat-moto-{}-{port}.log", std::process::id()));
        let recording = std::env::temp_dir().join(format!("ibrat-moto-{}-{port}.recording", std::process::id()));
        let log_file = std::fs::File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let stderr = log_file.try_clone().map_err(|e| format!("log file: {e}"))?;
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", binary.display()))?;
        let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}"), log, recording };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                let output = std::fs::read_to_string(&moto.log).unwrap_or_default();
                return Err(format!("it exited with {status}:\n{output}"));
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(moto);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!("it did not answer on {addr} within {START_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The emulator's URL, `http://127.0.0.1:PORT`, for `endpoint_url`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_file(&self.recording);
    }
}

/// SDK configuration pointing every client at `endpoint` in `region`, with
/// the dummy credentials moto accepts.
pub async fn sdk_config(endpoint: &str, region: &'static str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(endpoint)
        .load()
        .await
}
