//! Reading the TwiML our webhooks answer with: the verbs the simulator
//! acts on, in document order. Unknown verbs are skipped, as Twilio skips
//! what it does not need; a document that is not `<Response>` XML is an
//! error (Twilio's 12100).

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// How to request a URL named in TwiML or in the create-call form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

impl Method {
    /// `GET` (any case) is GET; anything else is Twilio's default, POST.
    pub(crate) fn parse(value: Option<&str>) -> Method {
        match value {
            Some(m) if m.trim().eq_ignore_ascii_case("GET") => Method::Get,
            _ => Method::Post,
        }
    }
}

/// A `<Dial>` verb's parts the simulator uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dial {
    pub numbers: Vec<String>,
    pub action: Option<String>,
    pub method: Method,
    /// Seconds to ring the numbers (default 30).
    pub timeout_secs: u32,
    /// Longest conversation in seconds (default 4 hours).
    pub time_limit_secs: u32,
    pub caller_id: Option<String>,
    /// `<Conference>`: the room to join, instead of numbers to ring.
    pub conference: Option<Conference>,
}

/// Which conference events a room reports to its status callback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RoomEvents {
    pub start: bool,
    pub end: bool,
    pub join: bool,
    pub leave: bool,
    pub mute: bool,
    pub hold: bool,
}

impl RoomEvents {
    /// Reads a space-separated `statusCallbackEvent` value.
    pub(crate) fn parse(value: &str) -> RoomEvents {
        let has = |name: &str| value.split_whitespace().any(|v| v == name);
        RoomEvents {
            start: has("start"),
            end: has("end"),
            join: has("join"),
            leave: has("leave"),
            mute: has("mute"),
            hold: has("hold"),
        }
    }
}

/// A `<Conference>` noun: the room's name and how this call joins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conference {
    pub name: String,
    /// The room starts when this participant enters (default true).
    pub start_on_enter: bool,
    /// The room ends when this participant leaves (default false).
    pub end_on_exit: bool,
    /// `true`, `false`, `onEnter` or `onExit` (default `true`).
    pub beep: String,
    /// Hold music until the room starts; `Some("")` is silence, `None` Twilio's default music.
    pub wait_url: Option<String>,
    pub muted: bool,
    pub label: Option<String>,
    pub status_callback: Option<(String, Method)>,
    pub events: RoomEvents,
}

/// One verb the simulator acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verb {
    /// Speaks this text.
    Say {
        text: String,
    },
    /// Silence for this many seconds.
    Pause {
        secs: u32,
    },
    Hangup,
    /// Ends the call, as `<Hangup>` does once answered.
    Reject,
    /// Fetches another document and continues there.
    Redirect {
        url: String,
        method: Method,
    },
    Dial(Box<Dial>),
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TwimlError {
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("the root element is not <Response>")]
    NoResponse,
}

const DIAL_TIMEOUT_SECS: u32 = 30;
const DIAL_TIME_LIMIT_SECS: u32 = 4 * 60 * 60;

/// The verb being read, until its end tag.
enum Open {
    Say(String),
    Redirect(Method, String),
    Dial(Dial),
    Number(Dial),
    Conference(Dial),
    Other(usize),
}

/// Parses a TwiML document into its verbs.
pub(crate) fn parse(xml: &str) -> Result<Vec<Verb>, TwimlError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut verbs = Vec::new();
    let mut in_response = false;
    let mut done = false;
    let mut open: Option<Open> = None;
    loop {
        let event = reader.read_event().map_err(|e| TwimlError::Xml(e.to_string()))?;
        match event {
            Event::Eof => break,
            Event::Start(e) if !in_response => {
                if e.local_name().as_ref() != b"Response" || done {
                    return Err(TwimlError::NoResponse);
                }
                in_response = true;
            }
            Event::Empty(e) if !in_response => {
                if e.local_name().as_ref() != b"Response" || done {
                    return Err(TwimlError::NoResponse);
                }
                done = true;
            }
            Event::End(_) if open.is_none() => {
                in_response = false;
                done = true;
            }
            Event::Start(e) => open = Some(start(open.take(), &e)?),
            Event::Empty(e) if open.is_none() => verbs.extend(verb(&e)?),
            Event::End(_) => {
                let (next, verb) = end(open.take());
                open = next;
                verbs.extend(verb);
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| TwimlError::Xml(e.to_string()))?;
                push_text(open.as_mut(), &text);
            }
            Event::CData(t) => push_text(open.as_mut(), &String::from_utf8_lossy(&t)),
            _ => {}
        }
    }
    if !done || in_response {
        return Err(TwimlError::NoResponse);
    }
    Ok(verbs)
}

/// A start tag inside `<Response>`: opens a verb, a `<Number>` inside a
/// `<Dial>`, or something skipped.
fn start(open: Option<Open>, e: &BytesStart) -> Result<Open, TwimlError> {
    Ok(match open {
        None => match e.local_name().as_ref() {
            b"Say" => Open::Say(String::new()),
            b"Redirect" => Open::Redirect(Method::parse(attr(e, "method")?.as_deref()), String::new()),
            b"Dial" => Open::Dial(dial(e)?),
            _ => Open::Other(1),
        },
        Some(Open::Dial(d)) if e.local_name().as_ref() == b"Number" => Open::Number(d),
        Some(Open::Dial(mut d)) if e.local_name().as_ref() == b"Conference" => {
            d.conference = Some(conference(e)?);
            Open::Conference(d)
        }
        Some(Open::Dial(d)) => Open::Dial(d),
        Some(Open::Other(depth)) => Open::Other(depth + 1),
        Some(other) => other,
    })
}

/// An end tag inside `<Response>`: closes what is open, yielding a verb
/// when a verb closes.
fn end(open: Option<Open>) -> (Option<Open>, Option<Verb>) {
    match open {
        Some(Open::Say(text)) => {
            (None, Some(Verb::Say { text: text.split_whitespace().collect::<Vec<_>>().join(" ") }))
        }
        Some(Open::Redirect(method, url)) => (None, Some(Verb::Redirect { url: url.trim().to_owned(), method })),
        Some(Open::Number(d)) | Some(Open::Conference(d)) => (Some(Open::Dial(d)), None),
        Some(Open::Dial(d)) => (None, Some(Verb::Dial(Box::new(d)))),
        Some(Open::Other(depth)) if depth > 1 => (Some(Open::Other(depth - 1)), None),
        Some(Open::Other(_)) | None => (None, None),
    }
}

/// Text goes to the element it belongs to; a `<Dial>`'s own text is a number.
fn push_text(open: Option<&mut Open>, text: &str) {
    match open {
        Some(Open::Say(s)) | Some(Open::Redirect(_, s)) => {
            s.push(' ');
            s.push_str(text);
        }
        Some(Open::Conference(d)) => {
            if let Some(c) = d.conference.as_mut() {
                c.name.push_str(text.trim());
            }
        }
        Some(Open::Number(d)) | Some(Open::Dial(d)) => {
            let number = text.trim();
            if !number.is_empty() {
                d.numbers.push(number.to_owned());
            }
        }
        Some(Open::Other(_)) | None => {}
    }
}

/// A self-closing verb.
fn verb(e: &BytesStart) -> Result<Option<Verb>, TwimlError> {
    Ok(match e.local_name().as_ref() {
        b"Hangup" => Some(Verb::Hangup),
        b"Reject" => Some(Verb::Reject),
        b"Pause" => {
            let secs = attr(e, "length")?.and_then(|v| v.trim().parse().ok()).unwrap_or(1);
            Some(Verb::Pause { secs })
        }
        b"Dial" => Some(Verb::Dial(Box::new(dial(e)?))),
        b"Say" => Some(Verb::Say { text: String::new() }),
        _ => None,
    })
}

/// A `<Dial>`'s attributes.
fn dial(e: &BytesStart) -> Result<Dial, TwimlError> {
    let number = |name| -> Result<Option<u32>, TwimlError> { Ok(attr(e, name)?.and_then(|v| v.trim().parse().ok())) };
    Ok(Dial {
        numbers: Vec::new(),
        action: attr(e, "action")?.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()),
        method: Method::parse(attr(e, "method")?.as_deref()),
        timeout_secs: number("timeout")?.unwrap_or(DIAL_TIMEOUT_SECS),
        time_limit_secs: number("timeLimit")?.unwrap_or(DIAL_TIME_LIMIT_SECS),
        caller_id: attr(e, "callerId")?,
        conference: None,
    })
}

/// A `<Conference>`'s attributes, with Twilio's defaults; the name is its text.
fn conference(e: &BytesStart) -> Result<Conference, TwimlError> {
    let flag = |name, default: bool| -> Result<bool, TwimlError> {
        Ok(attr(e, name)?.map_or(default, |v| v.trim().eq_ignore_ascii_case("true")))
    };
    let status_callback = attr(e, "statusCallback")?
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .map(|u| Ok::<_, TwimlError>((u, Method::parse(attr(e, "statusCallbackMethod")?.as_deref()))))
        .transpose()?;
    Ok(Conference {
        name: String::new(),
        start_on_enter: flag("startConferenceOnEnter", true)?,
        end_on_exit: flag("endConferenceOnExit", false)?,
        beep: attr(e, "beep")?.unwrap_or_else(|| "true".to_owned()),
        wait_url: attr(e, "waitUrl")?.map(|u| u.trim().to_owned()),
        muted: flag("muted", false)?,
        label: attr(e, "participantLabel")?,
        status_callback,
        events: RoomEvents::parse(&attr(e, "statusCallbackEvent")?.unwrap_or_default()),
    })
}

/// An attribute's unescaped value.
fn attr(e: &BytesStart, name: &str) -> Result<Option<String>, TwimlError> {
    match e.try_get_attribute(name) {
        Ok(Some(a)) => a.unescape_value().map(|v| Some(v.into_owned())).map_err(|err| TwimlError::Xml(err.to_string())),
        Ok(None) => Ok(None),
        Err(err) => Err(TwimlError::Xml(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_bridge_and_goodbye_documents() {
        let xml = ibrat_twilio::twiml::bridge("+998901112233", "+998935556677", 20, "https://h/dial?a=1&b=2", true);
        let verbs = parse(&xml);
        let expected = Dial {
            numbers: vec!["+998901112233".into()],
            action: Some("https://h/dial?a=1&b=2".into()),
            method: Method::Post,
            timeout_secs: 20,
            time_limit_secs: DIAL_TIME_LIMIT_SECS,
            caller_id: Some("+998935556677".into()),
            conference: None,
        };
        assert_eq!(verbs, Ok(vec![Verb::Dial(Box::new(expected))]));
        let bye = parse(&ibrat_twilio::twiml::goodbye(Some("Sorry, everyone is busy & away")));
        assert_eq!(bye, Ok(vec![Verb::Say { text: "Sorry, everyone is busy & away".into() }, Verb::Hangup]));
    }

    #[test]
    fn skips_unknown_verbs_and_nested_elements() {
        let xml = r#"<Response><Play loop="2">https://x/a.mp3</Play><Gather><Say>press one</Say></Gather>
            <Pause length="3"/><Redirect method="GET">https://h/next</Redirect><Reject/><Dial>+15550001111</Dial></Response>"#;
        let verbs = parse(xml);
        let dial = Dial {
            numbers: vec!["+15550001111".into()],
            action: None,
            method: Method::Post,
            timeout_secs: DIAL_TIMEOUT_SECS,
            time_limit_secs: DIAL_TIME_LIMIT_SECS,
            caller_id: None,
            conference: None,
        };
        assert_eq!(
            verbs,
            Ok(vec![
                Verb::Pause { secs: 3 },
                Verb::Redirect { url: "https://h/next".into(), method: Method::Get },
                Verb::Reject,
                Verb::Dial(Box::new(dial))
            ])
        );
    }

    #[test]
    fn reads_the_agent_and_lead_room_documents() {
        let agent = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Conference startConferenceOnEnter="true"
            endConferenceOnExit="true" beep="false" waitUrl="" statusCallback="https://h/twilio/conference?a=1&amp;b=2"
            statusCallbackEvent="start end join leave">agent-u1</Conference></Dial></Response>"#;
        let Ok(verbs) = parse(agent) else { panic!("agent document refused") };
        let [Verb::Dial(dial)] = verbs.as_slice() else { panic!("not one dial: {verbs:?}") };
        let expected = Conference {
            name: "agent-u1".into(),
            start_on_enter: true,
            end_on_exit: true,
            beep: "false".into(),
            wait_url: Some(String::new()),
            muted: false,
            label: None,
            status_callback: Some(("https://h/twilio/conference?a=1&b=2".into(), Method::Post)),
            events: RoomEvents { start: true, end: true, join: true, leave: true, mute: false, hold: false },
        };
        assert_eq!(dial.conference.as_ref(), Some(&expected));
        assert!(dial.numbers.is_empty());
        let lead = r#"<Response><Say>Connecting</Say><Dial action="/after"><Conference endConferenceOnExit="false"
            statusCallbackEvent="join leave" participantLabel="lead">agent-u1</Conference></Dial><Hangup/></Response>"#;
        let Ok(verbs) = parse(lead) else { panic!("lead document refused") };
        assert_eq!(verbs.len(), 3);
        let Verb::Dial(dial) = &verbs[1] else { panic!("no dial: {verbs:?}") };
        let Some(room) = &dial.conference else { panic!("no conference") };
        assert!(room.start_on_enter && !room.end_on_exit && room.beep == "true" && room.wait_url.is_none());
        assert_eq!((room.label.as_deref(), room.events.join, room.events.start), (Some("lead"), true, false));
        assert_eq!(dial.action.as_deref(), Some("/after"));
    }

    #[test]
    fn empty_response_has_no_verbs() {
        assert_eq!(parse("<Response/>"), Ok(vec![]));
        assert_eq!(parse(r#"<?xml version="1.0"?><Response></Response>"#), Ok(vec![]));
    }

    #[test]
    fn refuses_what_is_not_twiml() {
        assert_eq!(parse("{\"ok\":true}"), Err(TwimlError::NoResponse));
        assert_eq!(parse("<Html><Say>x</Say></Html>"), Err(TwimlError::NoResponse));
        assert_eq!(parse(""), Err(TwimlError::NoResponse));
        assert!(matches!(parse("<Response><Say>x</Dial></Response>"), Err(TwimlError::Xml(_))));
        assert!(parse("<Response><Say>unclosed").is_err());
    }
}
