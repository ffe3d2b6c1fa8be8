//! The object storage conformance suite. Checks use distinct keys under
//! `conformance/`, so [`run_all`] can run them in turn on one store.

use crate::blobs::{BlobError, BlobStore};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::time::Duration;

/// Reads a whole object back through the stream.
pub async fn read_all(store: &dyn BlobStore, key: &str) -> Result<Vec<u8>, BlobError> {
    let chunks: Vec<Bytes> = store.get_stream(key).await?.try_collect().await?;
    Ok(chunks.concat())
}

/// Deterministic, non-repeating-looking bytes, so a chunk out of order or
/// dropped cannot go unnoticed.
pub fn sample_bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// An object larger than several chunks streams back byte for byte, and its
/// size is reported.
pub async fn put_then_stream_back(store: &dyn BlobStore) {
    let key = "conformance/nested/folder/big.csv";
    let body = sample_bytes(300_000);
    store.put(key, Bytes::from(body.clone())).await.expect("put");
    let back = read_all(store, key).await.expect("get_stream");
    assert_eq!(back.len(), body.len());
    assert!(back == body, "streamed bytes differ from what was put");
    assert_eq!(store.size(key).await.expect("size"), 300_000);
}

/// Putting again replaces the object whole, even with a shorter body.
pub async fn put_overwrites(store: &dyn BlobStore) {
    let key = "conformance/overwrite.txt";
    store.put(key, Bytes::from(sample_bytes(100_000))).await.expect("first put");
    store.put(key, Bytes::from_static(b"short")).await.expect("second put");
    assert_eq!(read_all(store, key).await.expect("get_stream"), b"short");
    assert_eq!(store.size(key).await.expect("size"), 5);
}

/// An empty object exists, has size zero and streams back nothing.
pub async fn empty_object(store: &dyn BlobStore) {
    let key = "conformance/empty";
    store.put(key, Bytes::new()).await.expect("put");
    assert!(read_all(store, key).await.expect("get_stream").is_empty());
    assert_eq!(store.size(key).await.expect("size"), 0);
}

/// Missing objects are `NotFound`, both to read and to size.
pub async fn missing_is_not_found(store: &dyn BlobStore) {
    let key = "conformance/does/not/exist.csv";
    match store.get_stream(key).await {
        Err(BlobError::NotFound(k)) => assert_eq!(k, key),
        Err(other) => panic!("expected NotFound, got {other:?}"),
        Ok(_) => panic!("expected NotFound, got a stream"),
    }
    match store.size(key).await {
        Err(BlobError::NotFound(k)) => assert_eq!(k, key),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Keys that could escape a folder are refused by every operation.
pub async fn invalid_keys_are_refused(store: &dyn BlobStore) {
    for key in ["", "../escape", "conformance/../../escape", "/absolute", "a//b"] {
        let put = store.put(key, Bytes::from_static(b"x")).await;
        assert!(matches!(put, Err(BlobError::InvalidKey(_))), "put {key:?}: {put:?}");
        let size = store.size(key).await;
        assert!(matches!(size, Err(BlobError::InvalidKey(_))), "size {key:?}: {size:?}");
        let get = store.get_stream(key).await.err();
        assert!(matches!(get, Some(BlobError::InvalidKey(_))), "get_stream {key:?}: {get:?}");
        let url = store.presign_put(key, Duration::from_secs(60)).await;
        assert!(matches!(url, Err(BlobError::InvalidKey(_))), "presign_put {key:?}: {url:?}");
    }
}

/// A presigned upload URL is an http(s) URL naming the key.
pub async fn presign_put_names_the_key(store: &dyn BlobStore) {
    let key = "conformance/uploads/leads.csv";
    let url = store.presign_put(key, Duration::from_secs(300)).await.expect("presign_put");
    assert!(url.starts_with("http://") || url.starts_with("https://"), "{url}");
    assert!(url.contains(key), "{url} does not contain {key}");
}

/// Announcing an object again keeps its bytes; a missing object is
/// `NotFound` and an invalid key `InvalidKey`.
pub async fn renotify_keeps_the_object(store: &dyn BlobStore) {
    let key = "conformance/renotify/leads.csv";
    let body = sample_bytes(70_000);
    store.put(key, Bytes::from(body.clone())).await.expect("put");
    store.renotify(key).await.expect("renotify");
    store.renotify(key).await.expect("renotify twice");
    assert!(read_all(store, key).await.expect("get_stream") == body, "renotify changed the bytes");
    assert_eq!(store.size(key).await.expect("size"), 70_000);
    let missing = "conformance/renotify/missing.csv";
    match store.renotify(missing).await {
        Err(BlobError::NotFound(k)) => assert_eq!(k, missing),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let invalid = store.renotify("../escape").await;
    assert!(matches!(invalid, Err(BlobError::InvalidKey(_))), "{invalid:?}");
}

/// Chunks of `body`, `chunk` bytes each.
pub fn content(body: &[u8], chunk: usize) -> crate::blobs::ContentStream {
    let chunks: Vec<Result<Bytes, Box<dyn std::error::Error + Send + Sync>>> =
        body.chunks(chunk.max(1)).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures::stream::iter(chunks).boxed()
}

/// A streamed write reads back byte for byte, small or spanning several
/// parts (over 8 MiB, S3's multipart path), and replaces what was there.
pub async fn put_stream_then_read_back(store: &dyn BlobStore) {
    let key = "conformance/streamed/small.csv";
    let small = sample_bytes(10_000);
    assert_eq!(store.put_stream(key, "text/csv", content(&small, 999)).await.expect("put_stream"), 10_000);
    assert!(read_all(store, key).await.expect("get_stream") == small);
    let big = sample_bytes(17 * 1024 * 1024 + 123);
    let written = store.put_stream(key, "text/csv", content(&big, 100_000)).await.expect("put_stream big");
    assert_eq!(written, big.len() as u64);
    assert_eq!(store.size(key).await.expect("size"), big.len() as u64);
    assert!(read_all(store, key).await.expect("get_stream") == big, "streamed parts differ from what was sent");
    let empty = "conformance/streamed/empty.csv";
    assert_eq!(store.put_stream(empty, "text/csv", content(&[], 1)).await.expect("empty put_stream"), 0);
    assert_eq!(store.size(empty).await.expect("size"), 0);
}

/// A stream that fails part of the way leaves no object behind.
pub async fn a_failed_stream_stores_nothing(store: &dyn BlobStore) {
    let key = "conformance/streamed/failed.csv";
    let first = sample_bytes(9 * 1024 * 1024);
    let chunks: Vec<Result<Bytes, Box<dyn std::error::Error + Send + Sync>>> =
        vec![Ok(Bytes::from(first)), Err("the table went away".into())];
    match store.put_stream(key, "text/csv", futures::stream::iter(chunks).boxed()).await {
        Err(BlobError::Content { key: k, source }) => {
            assert_eq!(k, key);
            assert_eq!(source.to_string(), "the table went away");
        }
        other => panic!("expected a content error, got {other:?}"),
    }
    assert!(matches!(store.size(key).await, Err(BlobError::NotFound(_))), "a failed write left an object");
}

/// A presigned download URL is an http(s) URL naming the key; invalid keys
/// are refused.
pub async fn presign_get_names_the_key(store: &dyn BlobStore) {
    let key = "conformance/exports/leads.csv";
    let url = store.presign_get(key, Duration::from_secs(300), "leads.csv").await.expect("presign_get");
    assert!(url.starts_with("http://") || url.starts_with("https://"), "{url}");
    assert!(url.contains(key), "{url} does not contain {key}");
    let bad = store.presign_get("../x", Duration::from_secs(60), "x.csv").await;
    assert!(matches!(bad, Err(BlobError::InvalidKey(_))), "{bad:?}");
}

/// Runs every check in turn on one store.
pub async fn run_all(store: &dyn BlobStore) {
    put_then_stream_back(store).await;
    put_overwrites(store).await;
    empty_object(store).await;
    missing_is_not_found(store).await;
    invalid_keys_are_refused(store).await;
    presign_put_names_the_key(store).await;
    renotify_keeps_the_object(store).await;
    put_stream_then_read_back(store).await;
    a_failed_stream_stores_nothing(store).await;
    presign_get_names_the_key(store).await;
}
