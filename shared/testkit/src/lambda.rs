//! Lambda event fixtures, as AWS sends them, loaded from
//! `shared/testkit/fixtures/lambda/`, and the few shapes tests fill in.

use serde_json::{json, Value};

/// The text of fixture `name` (for example `api/health_v2.json`).
pub fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/lambda/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Fixture `name` parsed as JSON.
pub fn json_fixture(name: &str) -> Value {
    let text = fixture(name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// An SQS event with one record per (message id, body), as the dial queue
/// delivers them to the dialer.
pub fn sqs_event(records: &[(&str, &str)]) -> Value {
    let template = json_fixture("sqs_record.json");
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["receiptHandle"] = json!(format!("AQEB{id}"));
            r["body"] = json!(body);
            r
        })
        .collect();
    json!({ "Records": records })
}

/// EventBridge's scheduled event for the scheduler's rule.
pub fn scheduled_event() -> Value {
    json_fixture("scheduled.json")
}
