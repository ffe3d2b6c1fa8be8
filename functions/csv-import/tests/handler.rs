//! The csv-import handler on real S3 event JSON over local adapters:
//! uploads become leads, re-delivery changes nothing, other keys are
//! ignored, a missing object fails for good and an outage asks for a retry.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::s3::S3Event;
use bytes::Bytes;
use fn_csv_import::{decode_key, handle, RecordOutcome};
use ibrat_domain::{ImportId, LeadId, LeadStatus, Phone, Region};
use ibrat_local::FsBlobStore;
use ibrat_ports::{BlobError, BlobStore};
use ibrat_services::import::{ImportError, ImportStatus};
use ibrat_services::repo::{keys, leads as lead_repo};
use ibrat_testkit::TestDeps;

/// Blobs whose objects exist but cannot be read right now.
struct DownBlobs(FsBlobStore);

#[async_trait]
impl BlobStore for DownBlobs {
    async fn put(&self, key: &str, body: Bytes) -> Result<(), BlobError> {
        self.0.put(key, body).await
    }
    async fn get_stream(
        &self,
        _key: &str,
    ) -> Result<futures::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        Err(BlobError::Unavailable("S3 is having a bad day".into()))
    }
    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        self.0.size(key).await
    }
    async fn presign_put(&self, key: &str, ttl: Duration) -> Result<String, BlobError> {
        self.0.presign_put(key, ttl).await
    }
    async fn renotify(&self, key: &str) -> Result<(), BlobError> {
        self.0.renotify(key).await
    }
    async fn put_stream(
        &self,
        key: &str,
        content_type: &str,
        chunks: ibrat_ports::ContentStream,
    ) -> Result<u64, BlobError> {
        self.0.put_stream(key, content_type, chunks).await
    }
    async fn presign_get(&self, key: &str, ttl: Duration, file_name: &str) -> Result<String, BlobError> {
        self.0.presign_get(key, ttl, file_name).await
    }
}

fn event_for(id: &ImportId) -> S3Event {
    let raw = include_str!("fixtures/s3_put.json").replace("IMPORT_ID", id.as_str());
    serde_json::from_str(&raw).unwrap()
}

const CSV: &[u8] = b"Name,Phone,Priority\nBobur,90 123 45 67,high\nAziza,+998 (91) 234-56-78,\nAgain,00998901234567,\n";

#[tokio::test]
async fn an_upload_becomes_leads_once_however_often_the_event_comes() {
    let kit = TestDeps::new();
    let deps = &kit.deps;
    let id = ImportId::new();
    deps.blobs.put(&keys::import_blob(&id), Bytes::from_static(CSV)).await.unwrap();

    let outcomes = handle(deps, event_for(&id)).await.unwrap();
    let RecordOutcome::Imported(first) = &outcomes[0] else { panic!("{outcomes:?}") };
    assert_eq!(first.record.status, ImportStatus::Completed);
    let c = first.record.counts;
    assert_eq!((c.rows, c.imported, c.duplicates), (3, 2, 1));
    assert!(matches!(&outcomes[1], RecordOutcome::Ignored(k) if k == "exports/my report(1).csv"));

    let again = handle(deps, event_for(&id)).await.unwrap();
    let RecordOutcome::Imported(second) = &again[0] else { panic!("{again:?}") };
    assert_eq!(second, first);
    let phone = Phone::parse("+998901234567", Region::default()).unwrap();
    let lead = lead_repo::get(deps.store.as_ref(), &LeadId::for_phone(&phone)).await.unwrap().unwrap();
    assert_eq!((lead.status, lead.import_id), (LeadStatus::Queued, Some(id)));
}

#[tokio::test]
async fn a_missing_object_fails_for_good_and_an_outage_asks_for_a_retry() {
    let missing = TestDeps::new();
    let id = ImportId::new();
    let outcomes = handle(&missing.deps, event_for(&id)).await.unwrap();
    assert!(matches!(&outcomes[0], RecordOutcome::Failed { error: ImportError::Source(_), .. }), "{outcomes:?}");

    let fs = FsBlobStore::new(missing.blobs_dir.path(), "http://127.0.0.1:1/uploads");
    fs.put(&keys::import_blob(&id), Bytes::from_static(CSV)).await.unwrap();
    let down = TestDeps::builder().blobs(Arc::new(DownBlobs(fs))).build();
    let err = handle(&down.deps, event_for(&id)).await.unwrap_err();
    assert!(err.source.is_retryable());
    assert_eq!(err.key, format!("imports/{id}.csv"));
}

#[test]
fn keys_are_url_decoded() {
    assert_eq!(decode_key("imports/a+b%2Bc.csv"), "imports/a b+c.csv");
}
