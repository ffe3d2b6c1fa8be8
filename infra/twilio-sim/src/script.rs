//! Following an answered call's TwiML: the voice URL's document, then any
//! `<Dial action>` or `<Redirect>` documents, until a `<Hangup/>`, the end
//! of a document, a webhook failure (Twilio's "application error"), the
//! person hanging up or a REST hang-up. A live update replaces whatever
//! is playing with its `Url` or `Twiml`.

use serde_json::json;
use url::Url;

use crate::call::{DialStatus, DialedNumber, SimStatus, WebhookError};
use crate::player::{Player, Stop};
use crate::request::Voice;
use crate::state::new_sid_with;
use crate::twiml::{self, Dial, Method, Verb};
use crate::webhook::{self, DOCUMENT_PARSE_FAILURE, HTTP_RETRIEVAL_FAILURE};

/// Documents one call may fetch, so a redirect loop ends.
const MAX_DOCUMENTS: usize = 50;
/// Simulated seconds `<Say>` takes per word, plus a breath.
const SECS_PER_WORD: f64 = 0.4;
const SAY_PAUSE_SECS: f64 = 0.5;

/// Where the next TwiML document comes from.
enum Source {
    Fetch { url: String, method: Method, extra: Vec<(String, String)> },
    Inline(String),
    Join(crate::twiml::Conference),
}

impl Source {
    fn of(voice: Voice) -> Source {
        match voice {
            Voice::Url { url, method } => Source::Fetch { url, method, extra: Vec::new() },
            Voice::Twiml(xml) => Source::Inline(xml),
            Voice::Join(room) => Source::Join(room),
        }
    }
}

impl Player {
    /// Plays `voice` and whatever it leads to until the call ends.
    pub(crate) async fn follow(&mut self, voice: Voice) -> Result<(), Stop> {
        let mut next = Some(Source::of(voice));
        let mut documents = 0;
        while let Some(source) = next.take() {
            documents += 1;
            if documents > MAX_DOCUMENTS {
                self.record_error(WebhookError {
                    url: String::new(),
                    code: HTTP_RETRIEVAL_FAILURE,
                    message: format!("more than {MAX_DOCUMENTS} TwiML documents in one call"),
                });
                return Ok(());
            }
            let step = match source {
                Source::Join(room) => self.in_room(room).await.map(|_| None),
                source => {
                    let Some((base, verbs)) = self.load(source).await else { return Ok(()) };
                    match self.check() {
                        Ok(()) => self.play_verbs(base.as_ref(), verbs).await,
                        Err(stop) => Err(stop),
                    }
                }
            };
            next = match step {
                Ok(next) => next,
                Err(Stop::Moved(voice)) => Some(Source::of(*voice)),
                Err(stop) => return Err(stop),
            };
        }
        Ok(())
    }

    /// Fetches and parses a document; `None` (with the error recorded) when
    /// the webhook failed or did not answer TwiML.
    async fn load(&mut self, source: Source) -> Option<(Option<Url>, Vec<Verb>)> {
        let (url, body) = match source {
            Source::Inline(xml) => (None, xml),
            Source::Join(_) => return None,
            Source::Fetch { url, method, extra } => {
                // A hung-up call still reports a dialled leg, as completed.
                let status = if self.hung_up() { SimStatus::Completed } else { SimStatus::InProgress };
                let mut params = self.params(status);
                params.extend(extra);
                let token = self.state.config().auth_token.clone();
                match webhook::send(self.state.http(), &token, &url, method, &params).await {
                    Ok(body) => (Some(url), body),
                    Err(e) => {
                        self.record_error(e);
                        return None;
                    }
                }
            }
        };
        match twiml::parse(&body) {
            Ok(verbs) => Some((url.as_deref().and_then(|u| Url::parse(u).ok()), verbs)),
            Err(e) => {
                let url = url.unwrap_or_else(|| "Twiml".to_owned());
                self.record_error(WebhookError { url, code: DOCUMENT_PARSE_FAILURE, message: e.to_string() });
                None
            }
        }
    }

    /// Plays a document's verbs; the next document to fetch, if any.
    async fn play_verbs(&mut self, base: Option<&Url>, verbs: Vec<Verb>) -> Result<Option<Source>, Stop> {
        for verb in verbs {
            match verb {
                Verb::Say { text } => {
                    self.note("said", json!({"text": text}));
                    let words = text.split_whitespace().count();
                    self.wait(words as f64 * SECS_PER_WORD + SAY_PAUSE_SECS).await?
                }
                Verb::Pause { secs } => self.wait(f64::from(secs)).await?,
                Verb::Hangup | Verb::Reject => return Ok(None),
                Verb::Redirect { url, method } => {
                    return Ok(self.resolve(base, &url).map(|url| Source::Fetch { url, method, extra: Vec::new() }));
                }
                Verb::Dial(dial) if dial.conference.is_some() => {
                    let action = dial.action.as_deref().and_then(|a| self.resolve(base, a));
                    if let Some(room) = dial.conference {
                        self.in_room(room).await?;
                    }
                    if let Some(url) = action {
                        return Ok(Some(Source::Fetch { url, method: dial.method, extra: Vec::new() }));
                    }
                }
                Verb::Dial(dial) => {
                    if let Some(next) = self.dial(base, *dial).await? {
                        return Ok(Some(next));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Rings the dialled numbers, talks if one answers, and hands back the
    /// `action` document to fetch. On a REST hang-up the action is still
    /// requested (its answer ignored), as Twilio does.
    async fn dial(&mut self, base: Option<&Url>, dial: Dial) -> Result<Option<Source>, Stop> {
        let plan = self.dice.dial(self.state.config(), dial.timeout_secs);
        let (status, talked, outcome) = if dial.numbers.is_empty() {
            (DialStatus::Failed, 0, Ok(()))
        } else if let Err(h) = self.wait(f64::from(plan.ring_secs)).await {
            (DialStatus::Canceled, 0, Err(h))
        } else if !plan.answered {
            (if plan.busy { DialStatus::Busy } else { DialStatus::NoAnswer }, 0, Ok(()))
        } else {
            let from = self.elapsed();
            let outcome = self.wait(f64::from(plan.talk_secs.min(dial.time_limit_secs))).await;
            (DialStatus::Completed, (self.elapsed() - from).max(0.0).round() as u32, outcome)
        };
        let dial_sid = self.record_dial(&dial, status, talked);
        self.note("dialed", json!({"numbers": dial.numbers, "status": status.as_str(), "talk_secs": talked}));
        let Some(url) = dial.action.as_deref().and_then(|a| self.resolve(base, a)) else {
            return outcome.map(|()| None);
        };
        let extra = vec![
            ("DialCallStatus".to_owned(), status.as_str().to_owned()),
            ("DialCallSid".to_owned(), dial_sid),
            ("DialCallDuration".to_owned(), talked.to_string()),
        ];
        let source = Source::Fetch { url, method: dial.method, extra };
        if let Err(stop) = outcome {
            // The lead hung up: Twilio still reports the leg, and ignores the answer.
            let _ = self.load(source).await;
            return Err(stop);
        }
        Ok(Some(source))
    }

    /// Records one `DialedNumber` per `<Number>` (the first carries the
    /// leg's outcome; when it answered, the others were canceled) and
    /// returns the first leg's SID.
    fn record_dial(&self, dial: &Dial, status: DialStatus, duration_secs: u32) -> String {
        let first_sid = new_sid_with("CA");
        let mut records: Vec<DialedNumber> = dial
            .numbers
            .iter()
            .enumerate()
            .map(|(i, number)| DialedNumber {
                number: number.clone(),
                caller_id: dial.caller_id.clone(),
                dial_call_sid: if i == 0 { first_sid.clone() } else { new_sid_with("CA") },
                status: if i > 0 && status == DialStatus::Completed { DialStatus::Canceled } else { status },
                duration_secs: if i == 0 { duration_secs } else { 0 },
            })
            .collect();
        if records.is_empty() {
            records.push(DialedNumber {
                number: String::new(),
                caller_id: dial.caller_id.clone(),
                dial_call_sid: first_sid.clone(),
                status,
                duration_secs: 0,
            });
        }
        self.state.with_call(&self.sid, |c| c.dialed.extend(records));
        first_sid
    }

    /// A URL from TwiML made absolute against the document it came from.
    fn resolve(&self, base: Option<&Url>, raw: &str) -> Option<String> {
        // An absolute URL is kept exactly as written: the signature covers it.
        let resolved = match (Url::parse(raw), base) {
            (Ok(u), _) => Ok((u, raw.to_owned())),
            (Err(_), Some(b)) => b.join(raw).map(|u| (u.clone(), u.to_string())),
            (Err(e), None) => Err(e),
        };
        match resolved {
            Ok((u, url)) if matches!(u.scheme(), "http" | "https") => Some(url),
            _ => {
                self.record_error(WebhookError {
                    url: raw.to_owned(),
                    code: HTTP_RETRIEVAL_FAILURE,
                    message: "not a URL the call can request".to_owned(),
                });
                None
            }
        }
    }
}
