//! Object storage in a local folder: one file per key, so uploaded CSVs can be
//! inspected by hand and large imports stream from disk exactly as from S3.

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_ports::{BlobError, BlobStore, ContentStream};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Size of each streamed chunk.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Longest key accepted (S3's limit).
const MAX_KEY_BYTES: usize = 1024;

/// A [`BlobStore`] rooted at a folder. Presigned uploads point at
/// `upload_base_url`, where the local host accepts the PUT and calls `put`.
/// With [`FsBlobStore::with_arrivals`], every object written or announced
/// again is named on a channel, as S3 notifies the csv-import function.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    upload_base_url: String,
    arrivals: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl FsBlobStore {
    /// A store under `root_dir` (created on first write) whose presigned
    /// uploads go to `{upload_base_url}/{key}`.
    pub fn new(root_dir: impl Into<PathBuf>, upload_base_url: impl Into<String>) -> Self {
        let upload_base_url = upload_base_url.into().trim_end_matches('/').to_owned();
        Self { root: root_dir.into(), upload_base_url, arrivals: None }
    }

    /// Names every object written (`put`) or announced again (`renotify`)
    /// on `arrivals`; a closed channel is ignored.
    pub fn with_arrivals(mut self, arrivals: tokio::sync::mpsc::UnboundedSender<String>) -> Self {
        self.arrivals = Some(arrivals);
        self
    }

    fn announce(&self, key: &str) {
        if let Some(arrivals) = &self.arrivals {
            // Nobody listening (local mode shutting down) is not an error.
            let _ = arrivals.send(key.to_owned());
        }
    }

    /// The folder objects live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `key` is stored, after checking it cannot escape the root.
    fn path_of(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Accepts relative, `/`-separated keys whose segments are all ordinary
/// names, so no key can name a file outside the root.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let invalid = || BlobError::InvalidKey(key.to_owned());
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.contains(['\\', '\0']) {
        return Err(invalid());
    }
    if key.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err(invalid());
    }
    Ok(())
}

fn unavailable(action: &str, key: &str, err: std::io::Error) -> BlobError {
    BlobError::Unavailable(format!("{action} `{key}`: {err}"))
}

/// Maps "no such file" (and "a folder is in the way") to `NotFound`.
fn read_error(key: &str, err: std::io::Error) -> BlobError {
    match err.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory => BlobError::NotFound(key.to_owned()),
        _ => unavailable("reading", key, err),
    }
}

async fn file_metadata(path: &Path, key: &str) -> Result<std::fs::Metadata, BlobError> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| read_error(key, e))?;
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(BlobError::NotFound(key.to_owned()))
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, body: Bytes) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        let dir = path.parent().unwrap_or(&self.root);
        tokio::fs::create_dir_all(dir).await.map_err(|e| unavailable("creating folder for", key, e))?;
        // Write beside the target and rename, so readers never see half a file.
        let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
        if let Err(e) = tokio::fs::write(&tmp, &body).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(unavailable("writing", key, e));
        }
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(unavailable("writing", key, e));
        }
        self.announce(key);
        Ok(())
    }

    async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let path = self.path_of(key)?;
        file_metadata(&path, key).await?;
        let file = tokio::fs::File::open(&path).await.map_err(|e| read_error(key, e))?;
        let key = key.to_owned();
        let chunks = stream::try_unfold(Some(file), move |file| {
            let key = key.clone();
            async move {
                let Some(mut file) = file else { return Ok(None) };
                let mut buf = BytesMut::with_capacity(CHUNK_BYTES);
                // `read_buf` may return short reads; fill the chunk unless at EOF.
                while buf.len() < CHUNK_BYTES {
                    let n = file.read_buf(&mut buf).await.map_err(|e| unavailable("reading", &key, e))?;
                    if n == 0 {
                        return Ok(if buf.is_empty() { None } else { Some((buf.freeze(), None)) });
                    }
                }
                Ok(Some((buf.freeze(), Some(file))))
            }
        });
        Ok(chunks.boxed())
    }

    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        let path = self.path_of(key)?;
        Ok(file_metadata(&path, key).await?.len())
    }

    async fn presign_put(&self, key: &str, _ttl: Duration) -> Result<String, BlobError> {
        validate_key(key)?;
        Ok(format!("{}/{}", self.upload_base_url, ibrat_ports::blobs::encode_key_path(key)))
    }

    async fn put_stream(&self, key: &str, _content_type: &str, mut chunks: ContentStream) -> Result<u64, BlobError> {
        let path = self.path_of(key)?;
        let dir = path.parent().unwrap_or(&self.root);
        tokio::fs::create_dir_all(dir).await.map_err(|e| unavailable("creating folder for", key, e))?;
        // Written beside the target and renamed, as `put`: readers never see
        // half a file, and a failed stream leaves nothing.
        let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await.map_err(|e| unavailable("writing", key, e))?;
            let mut size = 0u64;
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|source| BlobError::Content { key: key.to_owned(), source })?;
                file.write_all(&chunk).await.map_err(|e| unavailable("writing", key, e))?;
                size += chunk.len() as u64;
            }
            file.flush().await.map_err(|e| unavailable("writing", key, e))?;
            tokio::fs::rename(&tmp, &path).await.map_err(|e| unavailable("writing", key, e))?;
            Ok::<u64, BlobError>(size)
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        } else {
            self.announce(key);
        }
        written
    }

    async fn presign_get(&self, key: &str, _ttl: Duration, _file_name: &str) -> Result<String, BlobError> {
        validate_key(key)?;
        Ok(format!("{}/{}", self.upload_base_url, ibrat_ports::blobs::encode_key_path(key)))
    }

    async fn renotify(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        file_metadata(&path, key).await?;
        self.announce(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use ibrat_ports::conformance::blobs as suite;

    fn store(dir: &tempfile::TempDir) -> FsBlobStore {
        FsBlobStore::new(dir.path().join("blobs"), "http://localhost:8080/uploads/")
    }

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        suite::run_all(&store(&dir)).await;
    }

    #[tokio::test]
    async fn streams_in_64_kib_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        s.put("a/b/c.bin", Bytes::from(body.clone())).await.unwrap();
        let chunks: Vec<Bytes> = s.get_stream("a/b/c.bin").await.unwrap().try_collect().await.unwrap();
        let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        assert_eq!(sizes, vec![CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 300_000 - 4 * CHUNK_BYTES]);
        assert_eq!(chunks.concat(), body);
        assert!(dir.path().join("blobs/a/b/c.bin").is_file());
    }

    #[tokio::test]
    async fn a_folder_is_not_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        s.put("a/b", Bytes::from_static(b"x")).await.unwrap();
        assert!(matches!(s.size("a").await, Err(BlobError::NotFound(_))));
        assert!(matches!(s.get_stream("a").await.err(), Some(BlobError::NotFound(_))));
        assert!(matches!(s.size("a/b/c").await, Err(BlobError::NotFound(_))));
    }

    #[test]
    fn keys_that_could_escape_are_refused() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/", "a\\b", "nul\0"] {
            assert!(matches!(validate_key(bad), Err(BlobError::InvalidKey(_))), "{bad:?}");
        }
        for good in ["a", "imports/2024/x.csv", "a..b", ".hidden"] {
            assert!(validate_key(good).is_ok(), "{good:?}");
        }
    }

    #[tokio::test]
    async fn writes_and_renotifies_are_named_as_arrivals() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let s = store(&dir).with_arrivals(tx);
        s.put("imports/a.csv", Bytes::from_static(b"phone\n")).await.unwrap();
        s.renotify("imports/a.csv").await.unwrap();
        assert!(matches!(s.renotify("imports/gone.csv").await, Err(BlobError::NotFound(_))));
        assert_eq!(rx.try_recv().ok().as_deref(), Some("imports/a.csv"));
        assert_eq!(rx.try_recv().ok().as_deref(), Some("imports/a.csv"));
        assert!(rx.try_recv().is_err(), "a missing object is not announced");
    }

    #[tokio::test]
    async fn presigned_url_is_the_upload_route() {
        let dir = tempfile::tempdir().unwrap();
        let url = store(&dir).presign_put("imports/my file.csv", Duration::from_secs(60)).await.unwrap();
        assert_eq!(url, "http://localhost:8080/uploads/imports/my%20file.csv");
    }
}
