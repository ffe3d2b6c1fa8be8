//! The TwiML documents our webhooks answer with. Built with quick-xml's
//! escaping so no lead name or message can break out of its element.

use quick_xml::escape::escape;

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Rings a phone and bridges it to the caller (`<Dial><Number>`).
/// `caller_id` is shown to the callee; `action` is requested when the
/// callee's leg ends. The dialer puts leads in rooms instead; the simulator
/// plays this form too, as Twilio does.
pub fn bridge(phone: &str, caller_id: &str, timeout_secs: u32, action: &str, record: bool) -> String {
    let record = if record { r#" record="record-from-answer-dual""# } else { "" };
    format!(
        r#"{HEAD}<Response><Dial callerId="{}" timeout="{timeout_secs}" action="{}" method="POST" answerOnBridge="true"{record}><Number>{}</Number></Dial></Response>"#,
        escape(caller_id),
        escape(action),
        escape(phone),
    )
}

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
    fn bridge_dials_the_number_with_the_callers_id() {
        let xml = bridge("+998901112233", "+998935556677", 20, "https://h/twilio/dial?call_id=x&a=1", true);
        assert!(xml.starts_with(HEAD));
        assert!(xml.contains(r#"callerId="+998935556677""#));
        assert!(xml.contains(r#"timeout="20""#));
        assert!(xml.contains(r#"action="https://h/twilio/dial?call_id=x&amp;a=1""#));
        assert!(xml.contains(r#"answerOnBridge="true""#));
        assert!(xml.contains("record-from-answer-dual"));
        assert!(xml.contains("<Number>+998901112233</Number>"));
        assert!(!bridge("+1", "+2", 20, "a", false).contains("record="));
    }

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
