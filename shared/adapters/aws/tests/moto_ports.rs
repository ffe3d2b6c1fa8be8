//! The SQS, S3 and API Gateway management adapters against the moto
//! emulator, through the same conformance suites as the local adapters.

use async_trait::async_trait;
use aws_config::SdkConfig;
use bytes::Bytes;
use ibrat_aws::{ApiGatewaySender, S3Blobs, SqsQueue};
use ibrat_ports::conformance::connections::ConnectionHarness;
use ibrat_ports::conformance::{blobs as blob_suite, connections as connection_suite, queue as queue_suite};
use ibrat_ports::{BlobStore, ConnectionSender};
use ibrat_testkit::moto::Moto;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Client configuration pointing every SDK client at the emulator.
async fn sdk_config(endpoint: &str) -> SdkConfig {
    ibrat_testkit::moto::sdk_config(endpoint, "us-east-1").await
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A name no other test in this process uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

#[tokio::test]
async fn sqs_queue_conformance() {
    let moto = Moto::start().await;
    let config = sdk_config(moto.endpoint()).await;
    let created =
        aws_sdk_sqs::Client::new(&config).create_queue().queue_name(unique("work")).send().await.expect("create queue");
    let url = created.queue_url().expect("queue url");
    queue_suite::run_all(Arc::new(SqsQueue::new(&config, url))).await;
}

async fn bucket(config: &SdkConfig) -> String {
    let name = unique("uploads");
    let client =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build());
    client.create_bucket().bucket(&name).send().await.expect("create bucket");
    name
}

#[tokio::test]
async fn s3_blobs_conformance() {
    let moto = Moto::start().await;
    let config = sdk_config(moto.endpoint()).await;
    let store = S3Blobs::new(&config, bucket(&config).await);
    blob_suite::run_all(&store).await;
}

#[tokio::test]
async fn s3_presigned_put_uploads_the_object() {
    let moto = Moto::start().await;
    let config = sdk_config(moto.endpoint()).await;
    let bucket = bucket(&config).await;
    let store = S3Blobs::new(&config, &bucket);
    let key = "imports/2024/leads.csv";
    let url = store.presign_put(key, Duration::from_secs(300)).await.expect("presign");
    assert!(url.starts_with(moto.endpoint()), "path-style URL on the emulator: {url}");
    assert!(url.contains(&format!("/{bucket}/{key}")), "{url}");

    let body = blob_suite::sample_bytes(200_000);
    let response = reqwest::Client::new().put(&url).body(body.clone()).send().await.expect("PUT to presigned URL");
    assert!(response.status().is_success(), "PUT answered {}", response.status());

    assert_eq!(store.size(key).await.expect("size"), 200_000);
    assert!(blob_suite::read_all(&store, key).await.expect("read back") == body);
}

#[tokio::test]
async fn s3_presigned_get_downloads_a_streamed_export_under_its_name() {
    let moto = Moto::start().await;
    let config = sdk_config(moto.endpoint()).await;
    let bucket = bucket(&config).await;
    let store = S3Blobs::new(&config, &bucket);
    let key = "exports/0f3c/leads.csv";
    // Over one 8 MiB part, so the multipart path is the one downloaded.
    let body = blob_suite::sample_bytes(9 * 1024 * 1024);
    let written = store.put_stream(key, "text/csv; charset=utf-8", blob_suite::content(&body, 64 * 1024)).await;
    assert_eq!(written.expect("put_stream"), body.len() as u64);
    let url = store.presign_get(key, Duration::from_secs(300), "leads.csv").await.expect("presign_get");
    assert!(url.starts_with(moto.endpoint()) && url.contains(&format!("/{bucket}/{key}")), "{url}");
    // S3 answers the download as an attachment under its name (the signed
    // parameter; moto ignores it, so only its presence is checked here).
    assert!(url.contains("response-content-disposition=attachment%3B%20filename%3D%22leads.csv%22"), "{url}");
    let response = reqwest::Client::new().get(&url).send().await.expect("GET the presigned URL");
    assert!(response.status().is_success(), "GET answered {}", response.status());
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("text/csv; charset=utf-8"));
    assert!(response.bytes().await.expect("body")[..] == body[..], "the download differs from what was written");
}

#[tokio::test]
async fn s3_renotify_copies_the_object_onto_itself() {
    let moto = Moto::start().await;
    let config = sdk_config(moto.endpoint()).await;
    let bucket = bucket(&config).await;
    let store = S3Blobs::new(&config, &bucket);
    let key = "imports/0f3c.csv";
    store.put(key, Bytes::from_static(b"phone\n901234567\n")).await.expect("put");
    store.renotify(key).await.expect("renotify");
    let client =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let head = client.head_object().bucket(&bucket).key(key).send().await.expect("head");
    assert!(head.metadata().is_some_and(|m| m.contains_key("renotified-at")), "a new version was written: {head:?}");
    assert!(blob_suite::read_all(&store, key).await.expect("read back") == b"phone\n901234567\n");
}

#[tokio::test]
async fn s3_large_object_streams_in_several_chunks() {
    let moto = Moto::start().await;
    let config = sdk_config(moto.endpoint()).await;
    let store = S3Blobs::new(&config, bucket(&config).await);
    let body = blob_suite::sample_bytes(3 * 1024 * 1024);
    store.put("big.csv", Bytes::from(body.clone())).await.expect("put");
    let mut stream = store.get_stream("big.csv").await.expect("get_stream");
    let (mut chunks, mut back) = (0, Vec::new());
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        back.extend_from_slice(&chunk.expect("chunk"));
        chunks += 1;
    }
    assert!(back == body);
    assert!(chunks > 1, "a 3 MiB body arrived as {chunks} chunk(s): it was collected, not streamed");
}

/// Moto keeps posted data but exposes it through no API, so what was posted
/// is read back from moto's request recorder instead.
struct MotoRecorder {
    endpoint: String,
    http: reqwest::Client,
}

impl MotoRecorder {
    async fn start(endpoint: &str) -> Self {
        let recorder = MotoRecorder { endpoint: endpoint.to_owned(), http: reqwest::Client::new() };
        recorder.call("reset-recording").await;
        recorder.call("start-recording").await;
        recorder
    }

    async fn call(&self, action: &str) -> String {
        let url = format!("{}/moto-api/recorder/{action}", self.endpoint);
        let response = self.http.post(&url).send().await.unwrap_or_else(|e| panic!("{action}: {e}"));
        assert!(response.status().is_success(), "{action} answered {}", response.status());
        response.text().await.expect("recorder body")
    }

    /// Bodies of the recorded `method` requests to one connection, in order.
    async fn bodies(&self, method: &str, connection_id: &str) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        let recording = self.call("download-recording").await;
        let paths =
            [format!("/@connections/{connection_id}"), format!("/@connections/{}", connection_id.replace('=', "%3D"))];
        let mut bodies = Vec::new();
        for line in recording.lines().filter(|l| !l.trim().is_empty()) {
            let entry: serde_json::Value = serde_json::from_str(line).expect("recording line is JSON");
            let url = entry["url"].as_str().unwrap_or_default();
            if entry["method"] != method || !paths.iter().any(|p| url.ends_with(p.as_str())) {
                continue;
            }
            let body = entry["body"].as_str().unwrap_or_default();
            bodies.push(if entry["body_encoded"] == true {
                base64::engine::general_purpose::STANDARD.decode(body).expect("base64 body")
            } else {
                body.as_bytes().to_vec()
            });
        }
        bodies
    }
}

#[async_trait]
impl ConnectionHarness for MotoRecorder {
    async fn connect(&self) -> String {
        // Moto creates a connection on first use.
        format!("{}=", unique("moto-conn"))
    }

    async fn received(&self, connection_id: &str) -> Vec<u8> {
        self.bodies("POST", connection_id).await.concat()
    }
}

#[tokio::test]
async fn apigw_posts_are_recorded_by_moto() {
    let moto = Moto::start().await;
    let config = sdk_config(moto.endpoint()).await;
    let recorder = MotoRecorder::start(moto.endpoint()).await;
    let sender = ApiGatewaySender::new(&config, moto.endpoint());
    connection_suite::posts_arrive(&sender, &recorder).await;

    // Closing goes through (moto's GetConnection answer uses a timestamp
    // format the Rust SDK rejects, so the deletion itself is not inspected).
    let id = recorder.connect().await;
    sender.post(&id, b"{}").await.expect("post");
    sender.close(&id).await;
    assert_eq!(recorder.bodies("DELETE", &id).await.len(), 1, "close sent DeleteConnection");
    recorder.call("stop-recording").await;
}
