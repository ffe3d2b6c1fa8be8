//! `GET /local/backup` (admins only, local mode only): a consistent copy of
//! the running server's data directory, streamed in the format of
//! [`crate::backup_archive`]. The database is copied from one read
//! transaction into a temporary file first (writers carry on meanwhile);
//! then that file and every other file of the data directory (uploaded
//! blobs, the JWT secret) are streamed. Blobs are written before the items
//! naming them, so every blob the snapshot refers to is in the stream.

use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ibrat_http::auth::AdminUser;
use ibrat_http::error::ApiError;
use ibrat_http::AppState;
use ibrat_local::RedbStore;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::backup_archive::{end_line, file_line, MAGIC};
use crate::system::DB_FILE;

/// The route's path.
pub const PATH: &str = "/local/backup";
/// Size of the streamed chunks.
const CHUNK: usize = 64 * 1024;

/// What the route copies.
#[derive(Clone)]
struct Source {
    store: RedbStore,
    data_dir: PathBuf,
}

/// The backup route over `store`, the database of `data_dir`.
pub fn router(store: RedbStore, data_dir: PathBuf) -> Router<AppState> {
    let source = Source { store, data_dir };
    Router::new().route(PATH, get(move |admin: AdminUser| backup(admin, source.clone())))
}

async fn backup(admin: AdminUser, source: Source) -> Result<Response, ApiError> {
    let snapshot = TempFile(source.data_dir.join(format!(".backup-{}.redb", hex::encode(rand::random::<[u8; 8]>()))));
    let path = snapshot.0.clone();
    let store = source.store.clone();
    let summary = tokio::task::spawn_blocking(move || store.snapshot_to(&path))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut files = vec![(DB_FILE.to_owned(), snapshot.0.clone())];
    other_files(&source.data_dir, &source.data_dir, &mut files).map_err(ApiError::internal)?;
    tracing::info!(admin = %admin.0.id, items = summary.items, files = files.len(), "backup started");

    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        // Holding the snapshot here deletes it once streamed (or abandoned).
        let _snapshot = snapshot;
        if let Err(e) = stream_files(&files, &tx).await {
            tracing::warn!(error = %e, "backup stream cut short");
            let _ = tx.send(Err(e)).await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }));
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

/// Sends the header, each file, and the closing count.
async fn stream_files(
    files: &[(String, PathBuf)],
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), std::io::Error> {
    let closed = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away");
    tx.send(Ok(Bytes::from(format!("{MAGIC}\n")))).await.map_err(|_| closed())?;
    for (name, path) in files {
        let mut file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        tx.send(Ok(Bytes::from(file_line(len, name)))).await.map_err(|_| closed())?;
        let mut left = len;
        while left > 0 {
            let mut buf = vec![0; CHUNK.min(usize::try_from(left).unwrap_or(CHUNK))];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("{name} shrank")));
            }
            buf.truncate(n);
            left -= n as u64;
            tx.send(Ok(Bytes::from(buf))).await.map_err(|_| closed())?;
        }
    }
    tx.send(Ok(Bytes::from(end_line(files.len() as u64)))).await.map_err(|_| closed())?;
    Ok(())
}

/// Every regular file under `dir` but the live database and hidden names
/// (temporary files of uploads and backups), with `/`-separated paths
/// relative to `root`.
fn other_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || (dir == root && name == DB_FILE) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            other_files(root, &entry.path(), out)?;
        } else if kind.is_file() {
            let rel = entry.path().strip_prefix(root).map(Path::to_path_buf).unwrap_or_default();
            let rel: Vec<_> = rel.components().filter_map(|c| c.as_os_str().to_str()).collect();
            out.push((rel.join("/"), entry.path()));
        }
    }
    Ok(())
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
