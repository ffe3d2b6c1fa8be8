//! The create-call form, checked as Twilio checks it: the first missing or
//! malformed parameter is refused with Twilio's code.

use crate::call::SimStatus;
use crate::errors::ApiError;
use crate::twiml::{Conference, Method};

/// What the call plays once answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Voice {
    /// Request this URL for TwiML.
    Url { url: String, method: Method },
    /// Play this TwiML as given.
    Twiml(String),
    /// Join this room straight away (a participant added through the API).
    Join(Conference),
}

/// Answering-machine detection, as `MachineDetection` asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Amd {
    Off,
    /// Verdict as soon as Twilio can tell (`machine_start`).
    Enable,
    /// For a machine, wait for the end of its greeting (`machine_end_*`).
    DetectMessageEnd,
}

impl Amd {
    fn parse(value: Option<&str>) -> Amd {
        match value {
            Some(v) if v.eq_ignore_ascii_case("DetectMessageEnd") => Amd::DetectMessageEnd,
            Some(v) if v.eq_ignore_ascii_case("Enable") => Amd::Enable,
            _ => Amd::Off,
        }
    }

    /// True when detection runs.
    pub(crate) fn on(self) -> bool {
        self != Amd::Off
    }
}

/// Which progress events the status callback asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Events {
    pub initiated: bool,
    pub ringing: bool,
    pub answered: bool,
}

impl Events {
    /// Whether a callback for `status` is sent; a final status always is.
    pub(crate) fn wants(self, status: SimStatus) -> bool {
        match status {
            SimStatus::Queued => false,
            SimStatus::Initiated => self.initiated,
            SimStatus::Ringing => self.ringing,
            SimStatus::InProgress => self.answered,
            _ => true,
        }
    }
}

/// A validated request to place a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallRequest {
    pub to: String,
    pub from: String,
    pub voice: Voice,
    pub status_callback: Option<(String, Method)>,
    pub events: Events,
    /// Seconds to ring before giving up (1..=600, default 60).
    pub timeout_secs: u32,
    pub machine_detection: Amd,
    /// `AsyncAmd=true`: the voice URL is requested at once and the verdict
    /// goes to `AsyncAmdStatusCallback` (if given) when detection ends.
    pub async_amd: Option<Option<(String, Method)>>,
}

const DEFAULT_TIMEOUT_SECS: u32 = 60;
const MAX_TIMEOUT_SECS: u32 = 600;

impl CallRequest {
    /// Checks the form in Twilio's order: To, From, Url/Twiml, then formats.
    pub(crate) fn parse(form: &[(String, String)]) -> Result<CallRequest, ApiError> {
        let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
        let to = get("To").ok_or(ApiError::MissingTo)?;
        let from = get("From").ok_or(ApiError::MissingFrom)?;
        let voice = match (get("Url"), get("Twiml"), get("ApplicationSid")) {
            (Some(url), _, _) => Voice::Url { url: http_url(url)?, method: Method::parse(get("Method")) },
            (None, Some(twiml), _) => Voice::Twiml(twiml.to_owned()),
            _ => return Err(ApiError::BadUrl(String::new())),
        };
        if !is_e164(to) {
            return Err(ApiError::InvalidTo(to.to_owned()));
        }
        if !is_e164(from) {
            return Err(ApiError::InvalidFrom(from.to_owned()));
        }
        let status_callback = match get("StatusCallback") {
            Some(url) => Some((http_url(url)?, Method::parse(get("StatusCallbackMethod")))),
            None => None,
        };
        let asked: Vec<&str> =
            form.iter().filter(|(k, _)| k == "StatusCallbackEvent").flat_map(|(_, v)| v.split_whitespace()).collect();
        let events = Events {
            initiated: asked.contains(&"initiated"),
            ringing: asked.contains(&"ringing"),
            answered: asked.contains(&"answered"),
        };
        let timeout_secs = get("Timeout")
            .and_then(|t| t.parse::<u32>().ok())
            .map_or(DEFAULT_TIMEOUT_SECS, |t| t.clamp(1, MAX_TIMEOUT_SECS));
        let machine_detection = Amd::parse(get("MachineDetection"));
        let async_amd = match get("AsyncAmd") {
            Some(a) if a.eq_ignore_ascii_case("true") && machine_detection.on() => {
                let callback = match get("AsyncAmdStatusCallback") {
                    Some(url) => Some((http_url(url)?, Method::parse(get("AsyncAmdStatusCallbackMethod")))),
                    None => None,
                };
                Some(callback)
            }
            _ => None,
        };
        Ok(CallRequest {
            to: to.to_owned(),
            from: from.to_owned(),
            voice,
            status_callback,
            events,
            timeout_secs,
            machine_detection,
            async_amd,
        })
    }

    /// Reads the parts of a create-participant form that describe the new
    /// call: `To`, `From`, its status callback, timeout and detection. The
    /// call joins `room` once answered.
    pub(crate) fn participant(form: &[(String, String)], room: Conference) -> Result<CallRequest, ApiError> {
        let mut with_voice: Vec<(String, String)> =
            form.iter().filter(|(k, _)| !matches!(k.as_str(), "Url" | "Twiml" | "ApplicationSid")).cloned().collect();
        with_voice.push(("Twiml".into(), "<Response/>".into()));
        let mut req = CallRequest::parse(&with_voice)?;
        req.voice = Voice::Join(room);
        Ok(req)
    }
}

/// `+`, a non-zero digit, then up to 14 more digits.
pub(crate) fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else { return false };
    (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// An absolute http(s) URL, or Twilio's 21205.
fn http_url(raw: &str) -> Result<String, ApiError> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(raw.to_owned()),
        _ => Err(ApiError::BadUrl(raw.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const TO: (&str, &str) = ("To", "+998901234567");
    const FROM: (&str, &str) = ("From", "+998712000000");
    const URL: (&str, &str) = ("Url", "http://127.0.0.1:9/voice?x=1");

    #[test]
    fn refuses_in_twilios_order() {
        assert_eq!(CallRequest::parse(&form(&[FROM, URL])), Err(ApiError::MissingTo));
        assert_eq!(CallRequest::parse(&form(&[("To", " "), FROM, URL])), Err(ApiError::MissingTo));
        assert_eq!(CallRequest::parse(&form(&[TO, URL])), Err(ApiError::MissingFrom));
        assert_eq!(CallRequest::parse(&form(&[TO, FROM])).map_err(|e| e.code()), Err(21205));
        assert_eq!(CallRequest::parse(&form(&[TO, FROM, ("Url", "/relative")])).map_err(|e| e.code()), Err(21205));
        assert_eq!(CallRequest::parse(&form(&[("To", "998901234567"), FROM, URL])).map_err(|e| e.code()), Err(21211));
        assert_eq!(CallRequest::parse(&form(&[TO, ("From", "me"), URL])).map_err(|e| e.code()), Err(21212));
    }

    #[test]
    fn reads_what_our_client_sends() {
        let f = form(&[
            TO,
            FROM,
            URL,
            ("Method", "POST"),
            ("StatusCallback", "http://127.0.0.1:9/status"),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing answered"),
            ("Timeout", "900"),
            ("MachineDetection", "Enable"),
        ]);
        let req = CallRequest::parse(&f);
        let expected = CallRequest {
            to: "+998901234567".into(),
            from: "+998712000000".into(),
            voice: Voice::Url { url: "http://127.0.0.1:9/voice?x=1".into(), method: Method::Post },
            status_callback: Some(("http://127.0.0.1:9/status".into(), Method::Post)),
            events: Events { initiated: true, ringing: true, answered: true },
            timeout_secs: 600,
            machine_detection: Amd::Enable,
            async_amd: None,
        };
        assert_eq!(req, Ok(expected));
    }

    #[test]
    fn defaults_when_optional_parts_are_absent() {
        let req = CallRequest::parse(&form(&[TO, FROM, ("Twiml", "<Response/>"), ("Timeout", "x")]));
        let Ok(req) = req else { panic!("refused: {req:?}") };
        assert_eq!(req.voice, Voice::Twiml("<Response/>".into()));
        assert_eq!(req.timeout_secs, 60);
        assert!(!req.machine_detection.on() && req.status_callback.is_none() && req.async_amd.is_none());
        assert!(!req.events.wants(SimStatus::Ringing) && req.events.wants(SimStatus::Busy));
    }

    #[test]
    fn reads_detection_modes_and_async_amd() {
        let base = [TO, FROM, URL];
        let with = |extra: &[(&str, &str)]| {
            let mut f = form(&base);
            f.extend(form(extra));
            CallRequest::parse(&f)
        };
        let Ok(req) = with(&[("MachineDetection", "DetectMessageEnd")]) else { panic!("refused") };
        assert_eq!((req.machine_detection, req.async_amd), (Amd::DetectMessageEnd, None));
        let Ok(req) = with(&[
            ("MachineDetection", "Enable"),
            ("AsyncAmd", "true"),
            ("AsyncAmdStatusCallback", "http://127.0.0.1:9/amd"),
        ]) else {
            panic!("refused")
        };
        assert_eq!(req.async_amd, Some(Some(("http://127.0.0.1:9/amd".into(), Method::Post))));
        let Ok(req) = with(&[("AsyncAmd", "true")]) else { panic!("refused") };
        assert_eq!((req.machine_detection, req.async_amd), (Amd::Off, None), "AsyncAmd needs detection");
        assert_eq!(
            with(&[("MachineDetection", "Enable"), ("AsyncAmd", "true"), ("AsyncAmdStatusCallback", "nope")])
                .map_err(|e| e.code()),
            Err(21205)
        );
    }

    #[test]
    fn e164_shapes() {
        assert!(is_e164("+15551234567"));
        assert!(!is_e164("+05551234567"));
        assert!(!is_e164("+1"));
        assert!(!is_e164("+1234567890123456"));
        assert!(!is_e164("+1555-123"));
        assert!(!is_e164("15551234567"));
    }
}
