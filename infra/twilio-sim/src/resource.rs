//! A call rendered as Twilio's call resource JSON (`api.v2010.account.call`).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::call::SimCall;

/// Twilio's date format: RFC 2822 with a zero-padded day.
pub(crate) fn twilio_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// The resource's path under the API root.
pub(crate) fn call_uri(account_sid: &str, sid: &str) -> String {
    format!("/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json")
}

/// The call as Twilio's REST API shows it.
pub(crate) fn call_json(account_sid: &str, call: &SimCall) -> Value {
    let uri = call_uri(account_sid, &call.sid);
    let base = uri.trim_end_matches(".json");
    let sub = |name: &str| format!("{base}/{name}.json");
    // Twilio shows the duration once the call has ended, as a string.
    let duration = call.duration_secs.filter(|_| call.status.is_final()).map(|d| d.to_string());
    json!({
        "sid": call.sid,
        "date_created": twilio_date(call.date_created),
        "date_updated": twilio_date(call.date_updated),
        "parent_call_sid": null,
        "account_sid": account_sid,
        "to": call.to,
        "to_formatted": call.to,
        "from": call.from,
        "from_formatted": call.from,
        "phone_number_sid": null,
        "status": call.status.as_str(),
        "start_time": call.start_time.map(twilio_date),
        "end_time": call.end_time.map(twilio_date),
        "duration": duration,
        "price": null,
        "price_unit": "USD",
        "direction": "outbound-api",
        "answered_by": call.answered_by,
        "api_version": "2010-04-01",
        "forwarded_from": null,
        "group_sid": null,
        "caller_name": null,
        "queue_time": "0",
        "trunk_sid": null,
        "uri": uri,
        "subresource_uris": {
            "notifications": sub("Notifications"),
            "recordings": sub("Recordings"),
            "payments": sub("Payments"),
            "events": sub("Events"),
            "siprec": sub("Siprec"),
            "streams": sub("Streams"),
            "transcriptions": sub("Transcriptions"),
            "user_defined_message_subscriptions": sub("UserDefinedMessageSubscriptions"),
            "user_defined_messages": sub("UserDefinedMessages"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_are_rfc2822_with_padded_days() {
        let t = Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).single();
        assert_eq!(t.map(twilio_date).as_deref(), Some("Tue, 05 Mar 2024 07:08:09 +0000"));
    }
}
