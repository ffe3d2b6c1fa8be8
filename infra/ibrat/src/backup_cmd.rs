//! `ibrat backup DIR`: signs in to a running server as an admin, downloads
//! its consistent copy of the data directory (see [`crate::backup_route`])
//! and writes it into DIR, a folder `ibrat restore` accepts. A stream cut
//! short leaves nothing behind.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::backup_archive::{parse_line, Line, MAGIC, MAX_LINE};
use crate::backup_route::PATH;
use crate::client::{ApiClient, ClientError};

/// Why no backup was written; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists and is not an empty folder; back up into a new or empty folder")]
    NotEmpty(PathBuf),
    #[error("an admin's email and password are needed (--email/--password or IBRAT_ADMIN_EMAIL/IBRAT_ADMIN_PASSWORD)")]
    NoCredentials,
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{path} could not be written: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the backup stream broke off ({0}); the partial backup was removed")]
    Broken(String),
    #[error("the server's answer is not a backup ({0}); the partial backup was removed")]
    Malformed(String),
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupSummary {
    /// Files written (the database included).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Backs up the server at `server` into `dir`.
pub async fn run(
    dir: &Path,
    server: &str,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<BackupSummary, BackupError> {
    let (Some(email), Some(password)) = (email, password) else {
        return Err(BackupError::NoCredentials);
    };
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) || dir.is_file() {
        return Err(BackupError::NotEmpty(dir.to_owned()));
    }
    let client = ApiClient::login(server, email, password).await?;
    let response = client.get_raw(PATH).await?;
    let result = write_stream(dir, response).await;
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

async fn write_stream(dir: &Path, response: reqwest::Response) -> Result<BackupSummary, BackupError> {
    let write = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write(dir))?;
    let mut reader = StreamReader { stream: response.bytes_stream().boxed(), buf: Vec::new() };
    if reader.line().await? != MAGIC {
        return Err(BackupError::Malformed("it does not start with the backup header".into()));
    }
    let mut summary = BackupSummary::default();
    loop {
        match parse_line(&reader.line().await?).map_err(BackupError::Malformed)? {
            Line::File { len, path } => {
                let target = dir.join(&path);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(write(parent))?;
                }
                let mut file = tokio::fs::File::create(&target).await.map_err(write(&target))?;
                reader.copy(len, &mut file, &target).await?;
                file.sync_all().await.map_err(write(&target))?;
                summary.files += 1;
                summary.bytes += len;
            }
            Line::End { files } if files == summary.files => return Ok(summary),
            Line::End { files } => {
                return Err(BackupError::Malformed(format!("it announced {files} files but sent {}", summary.files)))
            }
        }
    }
}

/// Lines and exact byte counts from a body stream.
struct StreamReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buf: Vec<u8>,
}

impl StreamReader {
    /// More bytes into the buffer; false at the end of the stream.
    async fn fill(&mut self) -> Result<bool, BackupError> {
        match self.stream.next().await {
            Some(Ok(chunk)) => {
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            Some(Err(e)) => Err(BackupError::Broken(e.to_string())),
            None => Ok(false),
        }
    }

    /// The next line, without its newline.
    async fn line(&mut self) -> Result<String, BackupError> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                return String::from_utf8(line[..end].to_vec())
                    .map_err(|_| BackupError::Malformed("a header line is not UTF-8".into()));
            }
            if self.buf.len() > MAX_LINE {
                return Err(BackupError::Malformed("a header line is too long".into()));
            }
            if !self.fill().await? {
                return Err(BackupError::Broken("the stream ended in the middle".into()));
            }
        }
    }

    /// Copies exactly `len` bytes into `file`.
    async fn copy(&mut self, len: u64, file: &mut tokio::fs::File, path: &Path) -> Result<(), BackupError> {
        let mut left = len;
        loop {
            let take = usize::try_from(left).unwrap_or(usize::MAX).min(self.buf.len());
            if take > 0 {
                file.write_all(&self.buf[..take])
                    .await
                    .map_err(|source| BackupError::Write { path: path.to_owned(), source })?;
                self.buf.drain(..take);
                left -= take as u64;
            }
            if left == 0 {
                return Ok(());
            }
            if !self.fill().await? {
                return Err(BackupError::Broken(format!("the stream ended inside {}", path.display())));
            }
        }
    }
}
