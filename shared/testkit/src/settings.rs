//! Settings documents as the REST API serves them, edited the way the
//! end-to-end tests need them.

use serde_json::{json, Value};

/// Edits a settings document (as `GET /api/settings` returns it): the
/// calling window is open 08:00 to 21:00 every day (in the document's own
/// time format, `HH:MM` or `HH:MM:SS`) and pacing dials two lines per
/// salesperson at up to 20 calls a second.
pub fn open_every_day(settings: &mut Value) {
    let time = |hhmm: &str, like: &Value| {
        if like.as_str().is_some_and(|s| s.len() > 5) {
            format!("{hhmm}:00")
        } else {
            hhmm.to_owned()
        }
    };
    let w = &mut settings["calling_window"];
    w["start"] = json!(time("08:00", &w["start"]));
    w["end"] = json!(time("21:00", &w["end"]));
    w["days"] = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    settings["pacing"]["ratio"] = json!(2.0);
    settings["pacing"]["calls_per_second"] = json!(20);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_the_documents_time_format() {
        let mut short = json!({ "calling_window": { "start": "09:00", "end": "20:00" }, "pacing": {} });
        open_every_day(&mut short);
        assert_eq!(
            (short["calling_window"]["start"].as_str(), short["calling_window"]["end"].as_str()),
            (Some("08:00"), Some("21:00"))
        );
        let mut long = json!({ "calling_window": { "start": "09:00:00", "end": "20:00:00" }, "pacing": {} });
        open_every_day(&mut long);
        assert_eq!(long["calling_window"]["start"], "08:00:00");
        assert_eq!(long["calling_window"]["days"].as_array().map(Vec::len), Some(7));
        assert_eq!(long["pacing"]["calls_per_second"], 20);
    }
}
