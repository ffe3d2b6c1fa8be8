//! The sweep of stalled imports: a `running` import with no progress for
//! `import_stale_after` is resumed (its file announced again, and the run
//! it starts finishes from the checkpoint) or failed with a clear reason;
//! live imports and finished ones are never touched.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ibrat_domain::{EventKind, ImportId};
use ibrat_local::FsBlobStore;
use ibrat_ports::BlobStore;
use ibrat_services::import::{self, ImportStatus};
use ibrat_services::repo::{imports, keys};
use ibrat_testkit::{TestDeps, PUBLIC_URL};
use tokio::sync::mpsc;

const STALE_SECS: i64 = 20 * 60;

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

struct Kit {
    kit: TestDeps,
    blobs: Arc<FsBlobStore>,
    arrivals: mpsc::UnboundedReceiver<String>,
    _dir: tempfile::TempDir,
}

fn kit() -> Kit {
    kit_stale_after(STALE_SECS)
}

fn kit_stale_after(stale_secs: i64) -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let (tx, arrivals) = mpsc::unbounded_channel();
    let blobs = Arc::new(FsBlobStore::new(dir.path(), format!("{PUBLIC_URL}/uploads")).with_arrivals(tx));
    let kit = TestDeps::builder()
        .blobs(blobs.clone())
        .config(|c| {
            c.import_stale_after = Duration::from_secs(stale_secs as u64);
            c.import_max_resumes = 2;
        })
        .build();
    Kit { kit, blobs, arrivals, _dir: dir }
}

/// An import whose runner died: `running`, last progress now.
async fn stalled(k: &Kit, with_file: Option<&'static [u8]>) -> ImportId {
    let id = ImportId::new();
    if let Some(body) = with_file {
        k.blobs.put(&keys::import_blob(&id), Bytes::from_static(body)).await.unwrap();
    }
    let mut rec = imports::ImportRecord::new(id.clone(), "leads.csv", None, k.kit.now());
    rec.status = ImportStatus::Running;
    rec.started_at = Some(k.kit.now());
    rec.progress_at = Some(k.kit.now());
    assert!(imports::create(k.kit.store.as_ref(), &rec).await.unwrap());
    id
}

/// An import created for a presigned upload whose file may never come.
async fn awaiting(k: &Kit, with_file: Option<&'static [u8]>) -> ImportId {
    let id = ImportId::new();
    if let Some(body) = with_file {
        k.blobs.put(&keys::import_blob(&id), Bytes::from_static(body)).await.unwrap();
    }
    let rec = imports::ImportRecord::new(id.clone(), "leads.csv", None, k.kit.now());
    assert_eq!(rec.status, ImportStatus::AwaitingUpload);
    assert!(imports::create(k.kit.store.as_ref(), &rec).await.unwrap());
    id
}

fn drain(arrivals: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
    std::iter::from_fn(|| arrivals.try_recv().ok()).collect()
}

#[tokio::test]
async fn a_stalled_import_with_its_file_is_resumed_and_finishes() {
    let mut k = kit();
    let id = stalled(&k, Some(b"name,phone\nA,901234567\nB,901234568\n")).await;
    drain(&mut k.arrivals);

    // Not stale yet: left alone.
    k.kit.clock.advance(secs(STALE_SECS - 60));
    let out = import::sweep(&k.kit.deps).await.unwrap();
    assert_eq!(out, import::SweepOutcome::default());
    assert!(drain(&mut k.arrivals).is_empty());

    k.kit.clock.advance(secs(61));
    let out = import::sweep(&k.kit.deps).await.unwrap();
    assert_eq!(out.resumed, vec![id.clone()]);
    assert!(out.failed.is_empty());
    let key = keys::import_blob(&id);
    assert_eq!(drain(&mut k.arrivals), vec![key.clone()], "the file is announced again");
    let rec = imports::get(k.kit.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!((rec.status, rec.resumes, rec.progress_at), (ImportStatus::Running, 1, Some(k.kit.now())));

    // Right after the resume the import is fresh again: a second sweep does nothing.
    assert_eq!(import::sweep(&k.kit.deps).await.unwrap(), import::SweepOutcome::default());

    // What the announcement starts (the csv-import function, or local mode's runner).
    let done = import::run_from_blob(&k.kit.deps, &key).await.unwrap();
    assert_eq!((done.record.status, done.record.counts.imported), (ImportStatus::Completed, 2));
    assert_eq!(done.record.resumes, 1);
    k.kit.clock.advance(secs(STALE_SECS * 3));
    assert_eq!(
        import::sweep(&k.kit.deps).await.unwrap(),
        import::SweepOutcome::default(),
        "finished imports leave the index"
    );
}

#[tokio::test]
async fn a_stalled_import_whose_file_is_gone_fails_clearly() {
    let mut k = kit();
    let id = stalled(&k, None).await;
    k.kit.clock.advance(secs(STALE_SECS + 1));
    let out = import::sweep(&k.kit.deps).await.unwrap();
    assert_eq!(out.failed, vec![(id.clone(), "upload_missing".to_owned())]);
    assert!(out.resumed.is_empty() && drain(&mut k.arrivals).is_empty());
    let rec = imports::get(k.kit.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(rec.status, ImportStatus::Failed);
    assert_eq!(rec.finished_at, Some(k.kit.now()));
    let failure = rec.failure.unwrap();
    assert!(failure.message.contains("uploaded file is gone"), "{}", failure.message);
    let ended = k.kit.events.kinds().into_iter().any(
        |e| matches!(e, EventKind::ImportCompleted { import_id, status, .. } if import_id == id && status == "failed"),
    );
    assert!(ended, "listeners hear that the import ended");
    k.kit.clock.advance(secs(STALE_SECS));
    assert_eq!(import::sweep(&k.kit.deps).await.unwrap(), import::SweepOutcome::default());
}

#[tokio::test]
async fn an_import_that_keeps_stalling_is_given_up_after_its_resumes() {
    let mut k = kit();
    let id = stalled(&k, Some(b"phone\n901234567\n")).await;
    for round in 1..=2u64 {
        k.kit.clock.advance(secs(STALE_SECS + 1));
        let out = import::sweep(&k.kit.deps).await.unwrap();
        assert_eq!(out.resumed, vec![id.clone()], "round {round}");
        assert_eq!(imports::get(k.kit.store.as_ref(), &id).await.unwrap().unwrap().resumes, round);
    }
    drain(&mut k.arrivals);
    k.kit.clock.advance(secs(STALE_SECS + 1));
    let out = import::sweep(&k.kit.deps).await.unwrap();
    assert_eq!(out.failed, vec![(id.clone(), "stalled".to_owned())]);
    assert!(drain(&mut k.arrivals).is_empty());
    let rec = imports::get(k.kit.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(rec.status, ImportStatus::Failed);
    assert!(rec.failure.unwrap().message.contains("3 times"));
}

#[tokio::test]
async fn a_runner_that_saves_keeps_its_import_out_of_the_sweep() {
    let k = kit();
    let id = stalled(&k, Some(b"phone\n901234567\n")).await;
    // The runner saves progress every few seconds for longer than the stale time.
    for _ in 0..30 {
        k.kit.clock.advance(secs(60));
        let mut rec = imports::get(k.kit.store.as_ref(), &id).await.unwrap().unwrap();
        rec.progress_at = Some(k.kit.now());
        assert!(imports::save(k.kit.store.as_ref(), &mut rec).await.unwrap());
        assert_eq!(import::sweep(&k.kit.deps).await.unwrap(), import::SweepOutcome::default());
    }
}

#[tokio::test]
async fn the_every_minute_run_sweeps_imports() {
    let k = kit();
    let id = stalled(&k, None).await;
    k.kit.clock.advance(secs(STALE_SECS + 1));
    let run = ibrat_services::dialing::scheduler::scheduled(&k.kit.deps).await.unwrap();
    assert_eq!(run.imports.unwrap().failed, vec![(id, "upload_missing".to_owned())]);
}

#[tokio::test]
async fn an_upload_that_never_arrives_fails_once_its_link_has_expired() {
    // Stale after 5 minutes, while the upload link lives 15.
    let mut k = kit_stale_after(5 * 60);
    let id = awaiting(&k, None).await;
    k.kit.clock.advance(secs(6 * 60));
    assert_eq!(import::sweep(&k.kit.deps).await.unwrap(), import::SweepOutcome::default(), "the link still works");
    k.kit.clock.advance(secs(10 * 60));
    let out = import::sweep(&k.kit.deps).await.unwrap();
    assert_eq!(out.failed, vec![(id.clone(), "upload_never_arrived".to_owned())]);
    assert!(drain(&mut k.arrivals).is_empty());
    let rec = imports::get(k.kit.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(rec.status, ImportStatus::Failed);
    assert!(rec.failure.unwrap().message.contains("before its upload link expired"));
    k.kit.clock.advance(secs(STALE_SECS));
    assert_eq!(
        import::sweep(&k.kit.deps).await.unwrap(),
        import::SweepOutcome::default(),
        "failed imports leave the index"
    );
}

#[tokio::test]
async fn an_uploaded_file_whose_announcement_was_lost_is_imported() {
    let mut k = kit();
    let id = awaiting(&k, Some(b"name,phone\nA,901234567\n")).await;
    drain(&mut k.arrivals);
    k.kit.clock.advance(secs(STALE_SECS + 1));
    let out = import::sweep(&k.kit.deps).await.unwrap();
    assert_eq!(out.resumed, vec![id.clone()]);
    let key = keys::import_blob(&id);
    assert_eq!(drain(&mut k.arrivals), vec![key.clone()], "the file is announced again");
    let done = import::run_from_blob(&k.kit.deps, &key).await.unwrap();
    assert_eq!((done.record.status, done.record.counts.imported), (ImportStatus::Completed, 1));
}
