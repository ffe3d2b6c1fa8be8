//! Local mode sweeps stalled imports on its scheduler timer, as the
//! scheduler Lambda does: a `running` import nobody moves is resumed from
//! its uploaded file by local mode's import runner (the file announced
//! again), or failed when the file is gone.

use std::net::SocketAddr;
use std::time::Duration;

use ibrat::system::BLOBS_DIR;
use ibrat::ServeOptions;
use ibrat_domain::ImportId;
use ibrat_services::import::ImportStatus;
use ibrat_services::repo::{imports, keys};
use ibrat_services::Config;

#[tokio::test]
async fn local_mode_resumes_a_stalled_import_with_its_file_and_fails_one_without() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_tests();
    config.public_url = String::new();
    config.import_stale_after = Duration::from_secs(60);
    let mut options = ServeOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)), dir.path(), config);
    options.scheduler_period = Duration::from_millis(100);
    let system = ibrat::start(options).await.expect("local mode starts");
    let store = system.deps.store.clone();

    // Two imports whose runners died an hour ago: one file is still there
    // (written to disk by hand, not announced as an upload), one is gone.
    let an_hour_ago = system.deps.clock.now() - chrono::Duration::hours(1);
    let stalled = |id: &ImportId| {
        let mut rec = imports::ImportRecord::new(id.clone(), "leads.csv", None, an_hour_ago);
        rec.status = ImportStatus::Running;
        rec.progress_at = Some(an_hour_ago);
        rec
    };
    let (with_file, without) = (ImportId::new(), ImportId::new());
    let path = dir.path().join(BLOBS_DIR).join(keys::import_blob(&with_file));
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("blobs folder");
    std::fs::write(&path, "name,phone\nA,901234567\nB,901234568\n").expect("the uploaded file");
    for id in [&with_file, &without] {
        assert!(imports::create(store.as_ref(), &stalled(id)).await.expect("stored"));
    }

    let mut finished = (None, None);
    for _ in 0..200 {
        let get = |id: &ImportId| {
            let (store, id) = (store.clone(), id.clone());
            async move { imports::get(store.as_ref(), &id).await.expect("read").expect("present") }
        };
        let (a, b) = (get(&with_file).await, get(&without).await);
        if a.status.is_final() && b.status.is_final() {
            finished = (Some(a), Some(b));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (Some(resumed), Some(failed)) = finished else { panic!("the sweep settled neither import in 20 s") };
    assert_eq!((resumed.status, resumed.resumes, resumed.counts.imported), (ImportStatus::Completed, 1, 2));
    assert_eq!(failed.status, ImportStatus::Failed);
    assert_eq!(failed.failure.map(|f| f.code).as_deref(), Some("upload_missing"));
    system.shutdown().await;
}
