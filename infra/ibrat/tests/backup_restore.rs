//! `ibrat backup` and `ibrat restore` on a serving system: a backup taken
//! while leads are being written holds every lead acknowledged before it
//! began and reads back without a dangling index entry; a backup of a
//! quiet system, restored into a fresh data directory and served, shows
//! every record the original showed (leads, users, calls, imports,
//! do-not-call numbers, settings, statistics) and holds its stored files.
//! Bad input is refused in one sentence.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ibrat::backup_cmd::{self, BackupError};
use ibrat::restore_cmd::{self, RestoreError};
use ibrat::system::{BLOBS_DIR, DB_FILE};
use ibrat::{RunningSystem, ServeOptions};
use ibrat_services::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ADMIN: &str = "admin@backup.test";
const PASSWORD: &str = "backup-password-1";

async fn start(data_dir: &Path) -> RunningSystem {
    let mut config = Config::for_tests();
    config.public_url = String::new();
    let mut options = ServeOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir, config);
    options.admin = Some((ADMIN.into(), PASSWORD.into()));
    ibrat::start(options).await.expect("local mode starts")
}

async fn login(http: &reqwest::Client, base: &str) -> String {
    let res = http.post(format!("{base}/api/auth/login")).json(&json!({ "email": ADMIN, "password": PASSWORD }));
    let body: Value = res.send().await.unwrap().json().await.unwrap();
    body["access_token"].as_str().expect("a token").to_owned()
}

/// Every id of every lead, through the API's paged list (index queries, so
/// an index entry naming a missing item would fail it).
async fn lead_ids(http: &reqwest::Client, base: &str, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/leads?limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let res = http.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.unwrap();
        ids.extend(page["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

/// Everything the API shows an admin: every lead, user, call, import and
/// do-not-call number (all pages), the settings and the statistics.
async fn everything(http: &reqwest::Client, base: &str, token: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for list in ["/api/leads", "/api/users", "/api/calls", "/api/imports", "/api/dnc"] {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{base}{list}?limit=100");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let res = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{list}");
            let page: Value = res.json().await.unwrap();
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        out.insert(list.to_owned(), Value::Array(items));
    }
    for one in ["/api/settings", "/api/leads/stats/summary"] {
        let res = http.get(format!("{base}{one}")).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{one}");
        out.insert(one.to_owned(), res.json().await.unwrap());
    }
    out
}

fn csv(first: usize, count: usize) -> String {
    let mut out = String::from("name,phone\n");
    for i in first..first + count {
        out.push_str(&format!("Lead {i},+99890{i:07}\n"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_while_serving_restores_every_item() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let system = start(&live).await;
    let base = system.base_url();
    let http = reqwest::Client::new();
    let token = login(&http, &base).await;

    // A stored file (as presigned uploads leave them) and 300 imported leads.
    let blob = axum::body::Bytes::from(csv(5000, 2000));
    system.deps.blobs.put("imports/backup-test.csv", blob).await.expect("the file is stored");
    let upload = http
        .post(format!("{base}/api/leads/upload-csv"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv(0, 300))
        .send()
        .await
        .unwrap();
    assert!(upload.status().is_success(), "{:?}", upload.text().await);
    let imported = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if lead_ids(&http, &base, &token).await.len() == 300 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    imported.await.expect("the import finishes within a minute");

    // A writer keeps creating leads while the first backup runs.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (acked, writing, http, base, token) =
            (acked.clone(), writing.clone(), http.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            let mut i = 1_000_000;
            while writing.load(std::sync::atomic::Ordering::SeqCst) {
                let body = json!({ "name": format!("Live {i}"), "phone": format!("+99891{i:07}") });
                let res = http.post(format!("{base}/api/leads")).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
                let lead: Value = res.json().await.unwrap();
                acked.lock().unwrap().push(lead["id"].as_str().unwrap().to_owned());
                i += 1;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before: Vec<String> = acked.lock().unwrap().clone();
    assert!(!before.is_empty(), "the writer wrote before the backup");
    let during = root.path().join("during");
    let summary = backup_cmd::run(&during, &base, Some(ADMIN), Some(PASSWORD)).await.expect("the backup is written");
    assert!(summary.files >= 2, "database or stored file missing: {summary:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    writer.await.expect("the writer ran without error");
    let written: Vec<String> = acked.lock().unwrap().clone();
    assert!(written.len() > before.len(), "leads were written while the backup ran");

    // A quiet system's backup, and everything the API shows at that moment.
    let quiet = root.path().join("quiet");
    backup_cmd::run(&quiet, &base, Some(ADMIN), Some(PASSWORD)).await.expect("the second backup is written");
    let shown = everything(&http, &base, &token).await;
    assert_eq!(shown["/api/leads"].as_array().unwrap().len(), 300 + written.len());
    let err = backup_cmd::run(&quiet, &base, Some(ADMIN), Some(PASSWORD)).await.unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{} exists and is not an empty folder; back up into a new or empty folder", quiet.display())
    );
    let wrong = backup_cmd::run(&root.path().join("x"), &base, Some(ADMIN), Some("wrong-password")).await.unwrap_err();
    assert!(wrong.to_string().contains("invalid email or password"), "{wrong}");
    assert!(!root.path().join("x").exists(), "a refused backup leaves no folder");
    system.shutdown().await;

    // The quiet backup restored and served: the same records, and the files.
    let restored = root.path().join("restored");
    let done = restore_cmd::run(&quiet, &restored, false).expect("the restore succeeds");
    assert!(done.files >= 2, "{done:?}");
    assert!(restored.join(DB_FILE).is_file());
    let again = start(&restored).await;
    let again_token = login(&http, &again.base_url()).await;
    let restored_shows = everything(&http, &again.base_url(), &again_token).await;
    for (what, value) in &shown {
        assert!(restored_shows[what] == *value, "{what} differs after the restore");
    }
    again.shutdown().await;
    let blob_files = |dir: &Path| {
        let mut files = BTreeMap::new();
        let mut stack = vec![dir.join(BLOBS_DIR)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                    files.insert(p.strip_prefix(dir).unwrap().to_owned(), std::fs::read(&p).unwrap());
                }
            }
        }
        files
    };
    let uploads = blob_files(&live);
    assert!(!uploads.is_empty(), "the stored file is there");
    assert_eq!(blob_files(&restored), uploads, "the restored files differ");

    // Restoring over a database needs --replace, and a serving one refuses.
    let occupied = restore_cmd::run(&quiet, &restored, false).unwrap_err();
    assert!(matches!(occupied, RestoreError::Occupied(_)), "{occupied}");
    let empty = tempfile::tempdir().unwrap();
    let none = restore_cmd::run(empty.path(), &restored, true).unwrap_err();
    assert_eq!(none.to_string(), format!("{} holds no backup (there is no ibrat.redb in it)", empty.path().display()));

    // The backup taken during writes, restored and served: every lead
    // acknowledged before it began is there, and nothing else is foreign.
    let during_dir = root.path().join("during-restored");
    restore_cmd::run(&during, &during_dir, false).expect("the restore succeeds");
    let system = start(&during_dir).await;
    let busy = restore_cmd::run(&quiet, &during_dir, true).unwrap_err();
    assert!(matches!(busy, RestoreError::InUse { .. }), "{busy}");
    let base = system.base_url();
    let token = login(&http, &base).await;
    let ids: std::collections::HashSet<String> = lead_ids(&http, &base, &token).await.into_iter().collect();
    for id in &before {
        assert!(ids.contains(id), "lead {id} was acknowledged before the backup but is not in it");
    }
    assert!(ids.len() >= 300 + before.len() && ids.len() <= 300 + written.len(), "{} leads", ids.len());
    system.shutdown().await;
}

#[test]
fn the_commands_refuse_bad_input_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ibrat"))
            .args(args)
            .env_remove("IBRAT_ADMIN_EMAIL")
            .env_remove("IBRAT_ADMIN_PASSWORD")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr.trim().to_owned()
    };
    let missing = dir.path().join("nothing");
    let data = dir.path().join("data");
    let line = run(&["restore", missing.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]);
    assert_eq!(line, format!("ibrat: {} holds no backup (there is no ibrat.redb in it)", missing.display()));
    let line = run(&["backup", dir.path().join("b").to_str().unwrap(), "--server", "http://127.0.0.1:1"]);
    assert!(line.starts_with("ibrat: an admin's email and password are needed"), "{line}");
    let line = run(&[
        "backup",
        dir.path().join("b").to_str().unwrap(),
        "--server",
        "http://127.0.0.1:1",
        "--email",
        "a@b.c",
        "--password",
        "x",
    ]);
    assert!(line.starts_with("ibrat: the server at http://127.0.0.1:1 could not be reached"), "{line}");
}
