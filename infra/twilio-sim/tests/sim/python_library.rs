//! Twilio's official Python helper library (PyPI `twilio`, installed into
//! `.venv` by `scripts/setup-twilio-lib.sh`) works against the simulator
//! unchanged: `tests/python/helper_library.py` creates, fetches, updates and
//! lists calls, lists and ends conferences, adds, updates and removes
//! participants, and sees refusals as `TwilioRestException`.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use twilio_sim::{Phone, RoomStatus};

use crate::conferences::{rooms_config, AGENT, LEAD};
use crate::Harness;

const GUEST: &str = "+15550000300";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn the_official_python_library_drives_the_simulator() {
    let h = Harness::start(rooms_config(|c| {
        c.time_scale = 0.01;
        c.phones.push((LEAD.into(), Phone::Stays));
        c.phones.push((GUEST.into(), Phone::Stays));
    }))
    .await;
    let python = workspace().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup-twilio-lib.sh", python.display());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/helper_library.py");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .env("SIM_URL", h.sim.base_url())
        .env("ACCOUNT_SID", h.sim.account_sid())
        .env("AUTH_TOKEN", &h.sim.state().config().auth_token)
        .env("HOOKS_URL", h.hooks.url(""))
        .env("AGENT", AGENT)
        .env("LEAD", LEAD)
        .env("GUEST", GUEST)
        .env("FROM", "+15550009999")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the script failed:\n{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).expect("the script reports JSON");
    assert_eq!(report["invalid_to"], serde_json::json!({"code": 21211, "status": 400}));
    assert_eq!(report["unknown_call"], serde_json::json!({"code": 20404, "status": 404}));
    assert_eq!(report["completed_conferences"], 1);
    assert_eq!(report["calls_listed"], 3, "the library followed next_page_uri");
    h.settle().await;

    let rooms = h.sim.rooms();
    assert_eq!(rooms.len(), 1);
    assert_eq!(report["conference_sid"], rooms[0].sid.as_str());
    assert_eq!((rooms[0].status, rooms[0].reason_ended), (RoomStatus::Completed, Some("conference-ended-via-api")));
    let calls = h.sim.calls();
    assert_eq!(calls.len(), 3, "salesperson, guest and lead");
    assert!(calls.iter().all(|c| c.status == "completed"), "{calls:?}");
}
