//! The TwiML documents our webhooks answer with. Built with quick-xml's
//! escaping so no lead name or message can break out of its element.

use quick_xml::escape::escape;

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Holds a salesperson in their own room for the whole session: the room
/// starts with them and ends when they leave, no beeps, silence while
/// alone. `status_callback` receives the room's start, end, join and leave.
pub fn agent_room(room: &str, status_callback: &str) -> String {
    format!(
        r#"{HEAD}<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" beep="false" waitUrl="" statusCallback="{}" statusCallbackEvent="start end join leave">{}</Conference></Dial></Response>"#,
        escape(status_callback),
        escape(room),
    )
}

/// Puts a lead's leg in a salesperson's room; leaving it does not end the
/// room (the salesperson stays on their line). `status_callback` receives
/// the lead's join and leave.
pub fn lead_room(room: &str, status_callback: &str) -> String {
    format!(
        r#"{HEAD}<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="false" beep="false" statusCallback="{}" statusCallbackEvent="join leave">{}</Conference></Dial></Response>"#,
        escape(status_callback),
        escape(room),
    )
}

/// Says `message` (when given) and hangs up.
pub fn goodbye(message: Option<&str>) -> String {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!("{HEAD}<Response><Say>{}</Say><Hangup/></Response>", escape(m)),
        None => format!("{HEAD}<Response><Hangup/></Response>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_follow_the_contract() {
        let agent = agent_room("agent-us_1", "https://h/twilio/conference");
        assert_eq!(
            agent,
            format!(
                r#"{HEAD}<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" beep="false" waitUrl="" statusCallback="https://h/twilio/conference" statusCallbackEvent="start end join leave">agent-us_1</Conference></Dial></Response>"#
            )
        );
        let lead = lead_room("agent-us_1", "https://h/twilio/conference?a=1&b=2");
        assert!(lead.contains(r#"endConferenceOnExit="false""#));
        assert!(lead.contains(r#"statusCallbackEvent="join leave""#));
        assert!(lead.contains(r#"statusCallback="https://h/twilio/conference?a=1&amp;b=2""#));
        assert!(lead.contains(">agent-us_1</Conference>"));
        assert!(lead_room("<x>", "u").contains("&lt;x&gt;"));
    }

    #[test]
    fn goodbye_escapes_the_message() {
        assert_eq!(goodbye(None), format!("{HEAD}<Response><Hangup/></Response>"));
        assert_eq!(goodbye(Some("  ")), goodbye(None));
        let xml = goodbye(Some("Tom & Jerry <Sales>"));
        assert!(xml.contains("<Say>Tom &amp; Jerry &lt;Sales&gt;</Say><Hangup/>"));
    }
}
