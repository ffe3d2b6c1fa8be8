//! The TwiML documents our webhooks answer with. Built with quick-xml's
//! escaping so no lead name or message can break out of its element.

use quick_xml::escape::escape;

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Rings a salesperson and bridges them to the caller. `caller_id` is the
/// lead's number so the salesperson sees who is on the line; `action` is
/// requested when the salesperson's leg ends.
pub fn bridge(salesperson_phone: &str, caller_id: &str, timeout_secs: u32, action: &str, record: bool) -> String {
    let record = if record { r#" record="record-from-answer-dual""# } else { "" };
    format!(
        r#"{HEAD}<Response><Dial callerId="{}" timeout="{timeout_secs}" action="{}" method="POST" answerOnBridge="true"{record}><Number>{}</Number></Dial></Response>"#,
        escape(caller_id),
        escape(action),
        escape(salesperson_phone),
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
    fn bridge_dials_the_salesperson_with_the_leads_number() {
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
    fn goodbye_escapes_the_message() {
        assert_eq!(goodbye(None), format!("{HEAD}<Response><Hangup/></Response>"));
        assert_eq!(goodbye(Some("  ")), goodbye(None));
        let xml = goodbye(Some("Tom & Jerry <Sales>"));
        assert!(xml.contains("<Say>Tom &amp; Jerry &lt;Sales&gt;</Say><Hangup/>"));
    }
}
