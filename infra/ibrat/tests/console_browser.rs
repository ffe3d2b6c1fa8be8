//! The web console in a real headless Chromium (Debian's `chromium`, driven
//! by Python Playwright from `.venv`; both installed by `scripts/test.sh`,
//! never downloaded by Playwright). This test starts local mode on port 0
//! with the Twilio simulator, prepares what a person would find (settings
//! whose calling window is open now, a salesperson with a phone, a CSV of
//! leads in zones open now) and runs `tests/browser/console_test.py`,
//! which checks the pages as a person would and compares what they show
//! with the REST API. Screenshots of every page go to `target/screenshots/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ibrat::demo::leads;
use ibrat::ServeOptions;
use ibrat_services::Config;
use rand::SeedableRng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use twilio_sim::SimConfig;

const ADMIN_EMAIL: &str = "admin@console.test";
const PASSWORD: &str = "console-password-1";
/// Access tokens live this long, so the test sees them renewed and expire.
const ACCESS_TTL_SECS: u64 = 8;
const SALESPERSON_EMAIL: &str = "sevara@e2e.test";
const SALESPERSON_PHONE: &str = "+998901234567";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every call answered by a person who talks for 4 to 6 seconds of real time.
fn sim() -> SimConfig {
    SimConfig {
        seed: 18,
        answer_rate: 1.0,
        machine_rate: 0.0,
        busy_rate: 0.0,
        failed_rate: 0.0,
        salesperson_answer_rate: 1.0,
        ring_secs: (2, 5),
        talk_secs: (400, 600),
        time_scale: 0.01,
        ..SimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_for_a_salesperson_and_an_admin_in_a_real_browser() {
    let root = workspace();
    let python = root.join(".venv/bin/python");
    let chromium = PathBuf::from(std::env::var("IBRAT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(
        python.exists() && chromium.exists(),
        "the browser tests need {} with Playwright and {}; run ./scripts/test.sh, which installs both",
        python.display(),
        chromium.display()
    );

    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_tests();
    config.public_url = String::new();
    config.access_ttl = Duration::from_secs(ACCESS_TTL_SECS);
    let mut options = ServeOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir.path(), config);
    options.sim = sim();
    options.admin = Some((ADMIN_EMAIL.into(), PASSWORD.into()));
    options.scheduler_period = Duration::from_millis(500);
    let system = ibrat::start(options).await.expect("the local system starts");
    let api = Api { base: system.base_url(), http: reqwest::Client::new() };

    let (status, login) = api
        .call(Method::POST, "/api/auth/login", None, Some(json!({ "email": ADMIN_EMAIL, "password": PASSWORD })))
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let admin = login["access_token"].as_str().expect("an access token").to_owned();
    let (status, mut settings) = api.call(Method::GET, "/api/settings", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    settings["calling_window"]["start"] = json!("08:00");
    settings["calling_window"]["end"] = json!("21:00");
    settings["calling_window"]["days"] = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    settings["pacing"]["ratio"] = json!(1.0);
    settings["retry"]["abandoned_delay_secs"] = json!(3600);
    // Long enough that no second call reaches the salesperson before they go away.
    settings["wrap_up_secs"] = json!(45);
    let (status, saved) = api.call(Method::PUT, "/api/settings", Some(&admin), Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let window = serde_json::from_value(saved["calling_window"].clone()).expect("a calling window");
    let body = json!({ "email": SALESPERSON_EMAIL, "password": PASSWORD, "name": "Sevara Karimova",
        "role": "salesperson", "phone": SALESPERSON_PHONE });
    let (status, user) = api.call(Method::POST, "/api/auth/register", Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let salesperson = user["id"].as_str().expect("a user id").to_owned();

    // The file the admin uploads: leads in zones open now, and two rows
    // the import must refuse.
    let zones = leads::open_zones(&window, chrono::Utc::now());
    assert!(!zones.is_empty(), "some zone is inside 08:00-21:00 at any hour");
    let sample = leads::generate(120, &zones, &mut rand::rngs::StdRng::seed_from_u64(18));
    let mut csv = leads::to_csv(&sample);
    csv.extend_from_slice(
        b"No Phone,not-a-number,medium,Asia/Tokyo\nBad Priority,+998 90 000 00 00,whenever,Asia/Tokyo\n",
    );
    let csv_path = data_dir.path().join("leads-for-the-console.csv");
    std::fs::write(&csv_path, csv).expect("the CSV is written");

    let screenshots = root.join("target/screenshots");
    std::fs::create_dir_all(&screenshots).expect("the screenshot folder");
    let script = root.join("tests/browser/console_test.py");
    let base_url = system.base_url();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("BASE_URL", base_url)
            .env("ADMIN_EMAIL", ADMIN_EMAIL)
            .env("PASSWORD", PASSWORD)
            .env("SALESPERSON_EMAIL", SALESPERSON_EMAIL)
            .env("SALESPERSON_ID", salesperson)
            .env("CSV_PATH", csv_path)
            .env("ACCESS_TTL_SECS", ACCESS_TTL_SECS.to_string())
            .env("SCREENSHOTS", screenshots)
            .env("CHROMIUM", chromium)
            .status()
    })
    .await
    .expect("the browser run finishes")
    .expect("python starts");
    system.shutdown().await;
    assert!(run.success(), "the browser checks failed (their output is above; screenshots in target/screenshots/)");
}

/// The REST API as the test's own client.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the server answers");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}
