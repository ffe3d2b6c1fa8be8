//! `ibrat serve` with the built-in Twilio simulator prints the simulator's
//! account SID and auth token at start, accepts `--chaos`, and serves the
//! simulator's ledger at `GET /sim/ledger` beside its own routes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The text after `label` on the first line holding it.
fn after<'a>(lines: &'a [String], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.split_once(label).map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("no '{label}' line in {lines:#?}"))
}

#[tokio::test]
async fn serve_prints_the_simulators_credentials_and_serves_its_ledger() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ibrat"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--chaos", "--data-dir"]).arg(dir.path());
    for var in ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "IBRAT_ADMIN_EMAIL", "IBRAT_ADMIN_PASSWORD"] {
        cmd.env_remove(var);
    }
    let mut server = Server(cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("ibrat starts"));
    let stdout = server.0.stdout.take().expect("stdout piped");
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains("Data ");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .expect("stdout read");

    let account_sid = after(&lines, "account SID").to_owned();
    assert!(account_sid.starts_with("AC") && account_sid.len() == 34, "{account_sid}");
    assert!(!after(&lines, "auth token").is_empty());
    assert!(lines.iter().any(|l| l.contains("--chaos")), "{lines:#?}");
    let ledger_url = after(&lines, "Sim ledger").to_owned();
    let ledger: serde_json::Value =
        reqwest::get(&ledger_url).await.expect("ledger answers").json().await.expect("ledger is JSON");
    assert_eq!(ledger["account_sid"], account_sid.as_str());
    assert!(ledger["entries"].is_array() && ledger["calls"].is_array() && ledger["rooms"].is_array());
}
