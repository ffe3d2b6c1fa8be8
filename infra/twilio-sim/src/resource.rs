//! Calls, conferences and participants rendered as Twilio's resource JSON
//! (`api.v2010.account.call`, `.conference`, `.conference.participant`),
//! and Twilio's list pages.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::call::SimCall;
use crate::room::{Member, RoomSnapshot};

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

/// A conference's path under the API root.
pub(crate) fn conference_uri(account_sid: &str, sid: &str) -> String {
    format!("/2010-04-01/Accounts/{account_sid}/Conferences/{sid}.json")
}

/// The room as Twilio's REST API shows a conference.
pub(crate) fn conference_json(account_sid: &str, room: &RoomSnapshot) -> Value {
    let uri = conference_uri(account_sid, &room.sid);
    let base = uri.trim_end_matches(".json");
    json!({
        "account_sid": account_sid,
        "date_created": twilio_date(room.date_created),
        "date_updated": twilio_date(room.date_updated),
        "api_version": "2010-04-01",
        "friendly_name": room.name,
        "region": "us1",
        "sid": room.sid,
        "status": room.status.as_str(),
        "uri": uri,
        "subresource_uris": {
            "participants": format!("{base}/Participants.json"),
            "recordings": format!("{base}/Recordings.json"),
        },
        "reason_conference_ended": room.reason_ended,
        "call_sid_ending_conference": room.call_sid_ending,
    })
}

/// A participant as Twilio's REST API shows it.
pub(crate) fn participant_json(account_sid: &str, room_sid: &str, m: &Member) -> Value {
    json!({
        "account_sid": account_sid,
        "call_sid": m.call_sid,
        "label": m.label,
        "call_sid_to_coach": null,
        "coaching": false,
        "conference_sid": room_sid,
        "date_created": twilio_date(m.date_created),
        "date_updated": twilio_date(m.date_updated),
        "end_conference_on_exit": m.end_on_exit,
        "muted": m.muted,
        "hold": m.hold,
        "start_conference_on_enter": m.start_on_enter,
        "status": if m.connected { "connected" } else { "queued" },
        "queue_time": "0",
        "uri": format!("/2010-04-01/Accounts/{account_sid}/Conferences/{room_sid}/Participants/{}.json", m.call_sid),
    })
}

/// Default and largest page sizes of Twilio's lists.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 50;
pub(crate) const MAX_PAGE_SIZE: usize = 1000;

/// Which page of a list was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub page: usize,
    pub page_size: usize,
    /// The filters given, kept in the page links.
    pub filters: Vec<(String, String)>,
}

impl PageRequest {
    /// Reads `Page` and `PageSize` (clamped) and keeps the named filters.
    pub(crate) fn parse(query: &[(String, String)], filters: &[&str]) -> PageRequest {
        let get = |n: &str| query.iter().find(|(k, _)| k == n).and_then(|(_, v)| v.trim().parse::<usize>().ok());
        PageRequest {
            page: get("Page").unwrap_or(0),
            page_size: get("PageSize").unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE),
            filters: query.iter().filter(|(k, _)| filters.contains(&k.as_str())).cloned().collect(),
        }
    }

    /// The value of a filter, when given.
    pub(crate) fn filter(&self, name: &str) -> Option<&str> {
        self.filters.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn link(&self, path: &str, page: usize) -> String {
        let mut q = self.filters.clone();
        q.push(("PageSize".into(), self.page_size.to_string()));
        q.push(("Page".into(), page.to_string()));
        format!("{path}?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
    }

    /// One page of `items` (all matches, in list order) under `key`.
    pub(crate) fn render(&self, path: &str, key: &str, items: Vec<Value>) -> Value {
        let start = self.page.saturating_mul(self.page_size);
        let total = items.len();
        let shown: Vec<Value> = items.into_iter().skip(start).take(self.page_size).collect();
        let more = start.saturating_add(shown.len()) < total;
        json!({
            key: shown,
            "start": start,
            "end": (start + shown.len()).saturating_sub(1),
            "page": self.page,
            "page_size": self.page_size,
            "uri": self.link(path, self.page),
            "first_page_uri": self.link(path, 0),
            "next_page_uri": if more { Some(self.link(path, self.page + 1)) } else { None },
            "previous_page_uri": if self.page > 0 { Some(self.link(path, self.page - 1)) } else { None },
        })
    }
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

    #[test]
    fn pages_link_onwards_with_their_filters() {
        let q = vec![
            ("To".to_owned(), "+1555".to_owned()),
            ("PageSize".to_owned(), "2".to_owned()),
            ("X".to_owned(), "y".to_owned()),
        ];
        let req = PageRequest::parse(&q, &["To"]);
        assert_eq!((req.page, req.page_size, req.filter("To"), req.filter("X")), (0, 2, Some("+1555"), None));
        let page = req.render("/p.json", "calls", vec![json!(1), json!(2), json!(3)]);
        assert_eq!(page["calls"], json!([1, 2]));
        assert_eq!(page["next_page_uri"], "/p.json?To=%2B1555&PageSize=2&Page=1");
        assert!(page["previous_page_uri"].is_null());
        let last = PageRequest { page: 1, ..req }.render("/p.json", "calls", vec![json!(1), json!(2), json!(3)]);
        assert_eq!(
            (last["calls"].clone(), last["start"].clone(), last["end"].clone()),
            (json!([3]), json!(2), json!(2))
        );
        assert!(last["next_page_uri"].is_null());
    }
}
