//! `ibrat import FILE`: uploads a CSV of leads to a running server's
//! `POST /api/leads/upload-csv` as an admin, with a progress bar of the
//! bytes sent, and prints the server's summary as a table.

use std::fmt::Write as _;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use crate::cli::ImportArgs;
use crate::client::{ApiClient, ClientError};

/// The upload route.
pub const UPLOAD_PATH: &str = "/api/leads/upload-csv";

/// How many rejected rows the table lists.
const SHOWN_ERRORS: usize = 10;

/// Why an import did not happen; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file {path} could not be read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the file {0} is empty")]
    Empty(PathBuf),
    #[error("no admin to sign in as: pass --email and --password, or set IBRAT_ADMIN_EMAIL and IBRAT_ADMIN_PASSWORD")]
    NoCredentials,
    #[error(transparent)]
    Server(#[from] ClientError),
}

/// What the server reports about an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ImportSummary {
    /// The import's id (its rejected rows are at `/api/imports/{id}/errors.csv`).
    pub id: Option<String>,
    pub status: Option<String>,
    pub rows: u64,
    pub imported: u64,
    pub duplicates: u64,
    pub invalid: u64,
    pub do_not_call: u64,
    /// The first rejected rows.
    pub errors: Vec<RowError>,
}

/// One rejected row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RowError {
    pub line: u64,
    /// `invalid`, `duplicate` or `do_not_call`.
    pub kind: String,
    /// The column's header as written in the file.
    pub column: String,
    pub reason: String,
    /// The refused value.
    pub value: String,
}

/// Reads the file, signs in and uploads it with a progress bar.
pub async fn run(args: &ImportArgs) -> Result<ImportSummary, ImportError> {
    let csv =
        tokio::fs::read(&args.file).await.map_err(|source| ImportError::Read { path: args.file.clone(), source })?;
    if csv.is_empty() {
        return Err(ImportError::Empty(args.file.clone()));
    }
    let (Some(email), Some(password)) = (args.login.email.as_deref(), args.login.password.as_deref()) else {
        return Err(ImportError::NoCredentials);
    };
    let client = ApiClient::login(&args.login.server, email, password).await?;
    let bar = ProgressBar::new(csv.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} uploading [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = bar.clone();
    let result = upload(&client, csv, move |n| progress.set_position(n)).await;
    bar.finish_and_clear();
    result
}

/// Uploads `csv` as an admin session, reporting bytes sent.
pub async fn upload(
    client: &ApiClient,
    csv: Vec<u8>,
    sent: impl Fn(u64) + Send + Sync + 'static,
) -> Result<ImportSummary, ImportError> {
    Ok(client.upload_csv(UPLOAD_PATH, csv, sent).await?)
}

/// The summary as a small table, then the first rejected rows.
pub fn render_summary(s: &ImportSummary) -> String {
    let mut out = String::new();
    let rows = [
        ("rows", s.rows),
        ("imported", s.imported),
        ("duplicates", s.duplicates),
        ("invalid", s.invalid),
        ("do-not-call", s.do_not_call),
    ];
    let _ = writeln!(out, "+-------------+----------+");
    for (name, value) in rows {
        let _ = writeln!(out, "| {name:<11} | {value:>8} |");
    }
    let _ = writeln!(out, "+-------------+----------+");
    if !s.errors.is_empty() {
        let _ = writeln!(out, "first rejected rows:");
        for e in s.errors.iter().take(SHOWN_ERRORS) {
            let _ = writeln!(out, "  line {:>6}: {} `{}`: {} ({:?})", e.line, e.kind, e.column, e.reason, e.value);
        }
        if let Some(id) = &s.id {
            let _ = writeln!(out, "all rejected rows: GET /api/imports/{id}/errors.csv");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ServerLogin;

    #[test]
    fn the_table_lists_every_count_and_the_first_errors() {
        let s = ImportSummary {
            rows: 3,
            imported: 1,
            duplicates: 1,
            invalid: 1,
            errors: vec![RowError {
                line: 3,
                kind: "invalid".into(),
                column: "phone".into(),
                reason: "not a phone number".into(),
                value: "12ab".into(),
            }],
            ..Default::default()
        };
        let table = render_summary(&s);
        assert!(table.contains("| imported    |        1 |"), "{table}");
        assert!(table.contains("| do-not-call |        0 |"), "{table}");
        assert!(table.contains("line      3: invalid `phone`: not a phone number (\"12ab\")"), "{table}");
    }

    #[tokio::test]
    async fn a_missing_file_is_one_sentence() {
        let args = ImportArgs {
            file: PathBuf::from("/nonexistent/leads.csv"),
            login: ServerLogin { server: "http://127.0.0.1:9".into(), email: None, password: None },
        };
        let err = run(&args).await.unwrap_err();
        assert!(err.to_string().starts_with("the file /nonexistent/leads.csv could not be read: "), "{err}");
        assert!(!err.to_string().contains('\n'));
    }
}
