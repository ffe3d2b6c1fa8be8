//! Plays one call out in the background, as Twilio would: progress status
//! callbacks in order, the drawn outcome (or a model phone's), the greeting
//! and machine detection in the requested mode, the TwiML (see `script`),
//! and the final status callback. The API can end or move the call at any
//! time; the player sees it at its next step or mid-wait.

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::call::{SimStatus, WebhookError};
use crate::config::Phone;
use crate::courier::{self, Courier, Delivery};
use crate::faults::FaultDice;
use crate::ledger::Note;
use crate::outcome::{Answerer, CallDice, Outcome};
use crate::request::{CallRequest, Voice};
use crate::resource::twilio_date;
use crate::state::{PlayingGuard, Registered, Signal, SimState};
use crate::timing;

/// Why a call stops what it is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Ended through the REST API.
    Api,
    /// The person on the line hung up.
    Party,
    /// Moved by a live update to play this instead.
    Moved(Box<Voice>),
}

/// How a wait ended when it did not stop the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// The time passed.
    Elapsed,
    /// The call was pushed out of its room.
    Kicked,
}

/// Status callbacks are drawn from their own fault dice kind.
const CALL_DICE: u64 = 1;

/// One call being played.
pub(crate) struct Player {
    pub(crate) state: SimState,
    pub(crate) sid: String,
    pub(crate) req: CallRequest,
    pub(crate) dice: CallDice,
    pub(crate) timing: CallDice,
    pub(crate) phone: Option<Phone>,
    index: u64,
    control: watch::Receiver<Signal>,
    seen_redirects: u64,
    created: DateTime<Utc>,
    /// Simulated seconds since creation.
    elapsed: f64,
    answered_at: Option<f64>,
    /// When the person hangs up of their own accord, in simulated seconds.
    hangs_up_at: Option<f64>,
    pub(crate) answered_by: Option<&'static str>,
    sequence: u32,
    courier: Courier,
    _playing: PlayingGuard,
}

/// Starts playing a registered call in the background.
pub(crate) fn spawn(state: SimState, registered: Registered, req: CallRequest, created: DateTime<Utc>) {
    let seed = state.config().seed;
    let phone = state.config().phone(&req.to);
    let player = Player {
        dice: CallDice::new(seed, registered.index),
        timing: CallDice::timing(seed, registered.index),
        courier: Courier::new(FaultDice::new(seed, CALL_DICE, registered.index)),
        phone,
        index: registered.index,
        state,
        sid: registered.sid,
        req,
        control: registered.control,
        seen_redirects: 0,
        created,
        elapsed: 0.0,
        answered_at: None,
        hangs_up_at: None,
        answered_by: None,
        sequence: 0,
        _playing: registered.playing,
    };
    tokio::spawn(player.play());
}

impl Player {
    async fn play(mut self) {
        let proposed = match self.run().await {
            Ok(status) => status,
            Err(Stop::Party | Stop::Moved(_)) => SimStatus::Completed,
            Err(Stop::Api) => SimStatus::Canceled,
        };
        self.finish(proposed).await;
    }

    /// Everything up to the end; the status the call ends with.
    async fn run(&mut self) -> Result<SimStatus, Stop> {
        let plan = match self.phone {
            Some(phone) => self.dice.phone_plan(phone, self.req.timeout_secs),
            None => self.dice.plan(self.state.config(), self.req.timeout_secs),
        };
        self.progress(SimStatus::Initiated).await?;
        self.progress(SimStatus::Ringing).await?;
        self.wait(f64::from(plan.ring_secs)).await?;
        let who = match plan.outcome {
            Outcome::Busy => return Ok(SimStatus::Busy),
            Outcome::NoAnswer => return Ok(SimStatus::NoAnswer),
            Outcome::Failed => return Ok(SimStatus::Failed),
            Outcome::Answered(who) => who,
        };
        self.answered_at = Some(self.elapsed);
        if let Some(Phone::HangsUpAfter(secs)) = self.phone {
            self.hangs_up_at = Some(self.elapsed + f64::from(secs));
        }
        let greeting = match who {
            Answerer::Human => self.timing.secs(self.state.config().human_greeting_secs),
            Answerer::Machine => self.timing.secs(self.state.config().machine_greeting_secs),
            Answerer::Fax => timing::FAX_SECS,
        };
        self.note("answered", json!({"by": who.as_str(), "greeting_secs": round(greeting)}));
        self.progress(SimStatus::InProgress).await?;
        let mode = self.req.machine_detection;
        if mode.on() {
            let (after, verdict) = timing::verdict(mode, who, greeting, self.timing.unit());
            match self.req.async_amd.clone() {
                Some(callback) => self.spawn_async_verdict(after, verdict, callback),
                None => {
                    self.wait(after).await?;
                    self.verdict(verdict, after);
                }
            }
        }
        let mut voice = self.req.voice.clone();
        if let Err(stop) = self.check() {
            match stop {
                Stop::Moved(to) => voice = *to,
                other => return Err(other),
            }
        }
        self.follow(voice).await?;
        Ok(SimStatus::Completed)
    }

    /// Detection decided: the call's `answered_by` and the ledger learn it.
    fn verdict(&mut self, verdict: &'static str, after: f64) {
        self.answered_by = Some(verdict);
        self.state.with_call(&self.sid, |c| c.answered_by = Some(verdict.to_owned()));
        self.note("amd-verdict", json!({"answered_by": verdict, "after_secs": round(after)}));
    }

    /// `AsyncAmd`: the verdict is posted to its callback when detection
    /// ends, while the call goes on.
    fn spawn_async_verdict(&self, after: f64, verdict: &'static str, callback: Option<(String, crate::twiml::Method)>) {
        let state = self.state.clone();
        let sid = self.sid.clone();
        let note = Note {
            call_sid: Some(sid.clone()),
            number: Some(self.req.to.clone()),
            sim_secs: Some(self.elapsed + after),
            room: None,
        };
        let duration_ms = ((after * 1000.0).round() as u64).to_string();
        let params: Vec<(String, String)> = [
            ("CallSid", sid.as_str()),
            ("AccountSid", state.config().account_sid.as_str()),
            ("AnsweredBy", verdict),
            ("MachineDetectionDuration", duration_ms.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut courier = Courier::new(FaultDice::new(state.config().seed, 3, self.index));
        tokio::spawn(async move {
            tokio::time::sleep(state.config().real_wait(after)).await;
            let live = state.with_call(&sid, |c| {
                let live = !c.status.is_final();
                if live {
                    c.answered_by = Some(verdict.to_owned());
                }
                live
            });
            if live != Some(true) {
                return;
            }
            state.ledger().record(
                note.clone(),
                "amd-verdict",
                json!({"answered_by": verdict, "after_secs": round(after), "async": true}),
            );
            if let Some((url, method)) = callback {
                let d = Delivery { url, method, params, what: "AnsweredBy".into(), call_status: None, note };
                let mut routed = courier.route(&state.config().faults, d);
                routed.extend(courier.flush());
                courier::dispatch(&state, routed).await;
            }
        });
    }

    /// Moves the call to `status` and sends its callback; stops if the
    /// call was ended meanwhile.
    async fn progress(&mut self, status: SimStatus) -> Result<(), Stop> {
        let now = self.now();
        let moved = self.state.with_call(&self.sid, |c| {
            if c.status.is_final() {
                return false;
            }
            c.status = status;
            c.date_updated = now;
            if status == SimStatus::InProgress {
                c.start_time = Some(now);
            }
            true
        });
        if moved != Some(true) {
            return Err(Stop::Api);
        }
        if matches!(status, SimStatus::Initiated | SimStatus::Ringing) {
            self.note(status.as_str(), json!({}));
        }
        self.status_callback(status, None).await;
        self.check()
    }

    /// Records the end, leaves any room, and sends the final status callback.
    async fn finish(&mut self, proposed: SimStatus) {
        let now = self.now();
        let left = self.state.leave_room(&self.sid, crate::room::Leaving::Left, now);
        courier::dispatch(&self.state, left).await;
        self.state.drop_ringing(&self.sid, now);
        let duration = self.answered_at.map_or(0, |at| (self.elapsed - at).max(0.0).round() as u32);
        let status = self
            .state
            .with_call(&self.sid, |c| {
                if !c.status.is_final() {
                    c.status = proposed;
                }
                c.end_time = Some(now);
                c.date_updated = now;
                c.duration_secs = Some(duration);
                c.status
            })
            .unwrap_or(proposed);
        self.note("ended", json!({"status": status.as_str(), "duration_secs": duration}));
        self.status_callback(status, Some(duration)).await;
        let held = self.courier.flush();
        courier::dispatch(&self.state, held).await;
    }

    /// Sends a status callback when one was asked for this status.
    async fn status_callback(&mut self, status: SimStatus, duration: Option<u32>) {
        let Some((url, method)) = self.req.status_callback.clone() else { return };
        if !self.req.events.wants(status) {
            return;
        }
        let mut params = self.params(status);
        params.push(("SequenceNumber".into(), self.sequence.to_string()));
        params.push(("Timestamp".into(), twilio_date(self.now())));
        params.push(("CallbackSource".into(), "call-progress-events".into()));
        if let Some(d) = duration {
            params.push(("CallDuration".into(), d.to_string()));
        }
        self.sequence += 1;
        let d = Delivery {
            url,
            method,
            params,
            what: status.as_str().to_owned(),
            call_status: Some(status),
            note: self.ledger_note(),
        };
        let routed = self.courier.route(&self.state.config().faults, d);
        courier::dispatch(&self.state, routed).await;
    }

    /// The parameters every webhook request carries.
    pub(crate) fn params(&self, status: SimStatus) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = [
            ("CallSid", self.sid.as_str()),
            ("AccountSid", self.state.config().account_sid.as_str()),
            ("From", self.req.from.as_str()),
            ("To", self.req.to.as_str()),
            ("Caller", self.req.from.as_str()),
            ("Called", self.req.to.as_str()),
            ("CallStatus", status.as_str()),
            ("Direction", "outbound-api"),
            ("ApiVersion", "2010-04-01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(who) = self.answered_by {
            p.push(("AnsweredBy".into(), who.into()));
        }
        p
    }

    /// Waits `secs` simulated seconds (scaled to real time).
    pub(crate) async fn wait(&mut self, secs: f64) -> Result<(), Stop> {
        self.wait_for(Some(secs), None).await.map(|_| ())
    }

    /// Waits `secs` simulated seconds, or until told otherwise when `None`;
    /// with `kicks_seen`, also until the call is pushed out of its room.
    /// Stops early when the API ends or moves the call, or the person's own
    /// hang-up time comes; the simulated time that did pass is counted.
    pub(crate) async fn wait_for(&mut self, secs: Option<f64>, kicks_seen: Option<u64>) -> Result<Waited, Stop> {
        self.check()?;
        if self.kicked(kicks_seen) {
            return Ok(Waited::Kicked);
        }
        let mut want = secs.map(|s| if s.is_finite() { s.max(0.0) } else { 0.0 });
        let mut party = false;
        if let Some(at) = self.hangs_up_at {
            let left = (at - self.elapsed).max(0.0);
            if want.is_none_or(|w| left < w) {
                want = Some(left);
                party = true;
            }
        }
        let real = want.map(|w| self.state.config().real_wait(w));
        if let (Some(w), Some(r)) = (want, real) {
            if r.is_zero() {
                self.elapsed += w;
                return if party { Err(Stop::Party) } else { Ok(Waited::Elapsed) };
            }
        }
        let started = Instant::now();
        loop {
            let changed = match real {
                Some(r) => {
                    let control = &mut self.control;
                    tokio::select! {
                        _ = tokio::time::sleep_until(started + r) => false,
                        seen = control.changed() => seen.is_ok(),
                    }
                }
                None => self.control.changed().await.is_ok(),
            };
            if !changed {
                break;
            }
            let interrupted = match self.check() {
                Err(stop) => Some(Err(stop)),
                Ok(()) if self.kicked(kicks_seen) => Some(Ok(Waited::Kicked)),
                Ok(()) => None,
            };
            if let Some(outcome) = interrupted {
                self.credit(started, want, real);
                return outcome;
            }
        }
        match want {
            Some(w) => self.elapsed += w,
            None => self.credit(started, None, None),
        }
        if party {
            Err(Stop::Party)
        } else {
            Ok(Waited::Elapsed)
        }
    }

    /// Counts the simulated share of a wait cut short.
    fn credit(&mut self, started: Instant, want: Option<f64>, real: Option<std::time::Duration>) {
        let passed = started.elapsed().as_secs_f64();
        match (want, real) {
            (Some(w), Some(r)) if !r.is_zero() => self.elapsed += w * (passed / r.as_secs_f64()).min(1.0),
            _ => {
                let scale = self.state.config().time_scale;
                if scale.is_finite() && scale > 0.0 {
                    self.elapsed += passed / scale;
                }
            }
        }
    }

    fn kicked(&self, kicks_seen: Option<u64>) -> bool {
        kicks_seen.is_some_and(|k| self.control.borrow().kicks > k)
    }

    /// The times the call has been pushed out of a room so far.
    pub(crate) fn kicks(&self) -> u64 {
        self.control.borrow().kicks
    }

    /// Stops once the call has been ended or (after the answer) moved.
    pub(crate) fn check(&mut self) -> Result<(), Stop> {
        let signal = self.control.borrow();
        if signal.hangup {
            return Err(Stop::Api);
        }
        if self.answered_at.is_some() && signal.redirects > self.seen_redirects {
            let to = signal.redirect.clone();
            let count = signal.redirects;
            drop(signal);
            self.seen_redirects = count;
            if let Some(to) = to {
                self.note("moved", json!({"to": describe(&to)}));
                return Err(Stop::Moved(Box::new(to)));
            }
        }
        Ok(())
    }

    /// True once the call has been ended through the API.
    pub(crate) fn hung_up(&self) -> bool {
        self.control.borrow().hangup
    }

    /// Simulated seconds since the call was created.
    pub(crate) fn elapsed(&self) -> f64 {
        self.elapsed
    }

    /// The simulated time now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let ms = (self.elapsed * 1000.0).round().clamp(0.0, 1e15) as i64;
        self.created.checked_add_signed(chrono::Duration::milliseconds(ms)).unwrap_or(self.created)
    }

    /// Who a ledger entry about this call concerns.
    pub(crate) fn ledger_note(&self) -> Note {
        Note {
            sim_secs: Some(self.elapsed),
            call_sid: Some(self.sid.clone()),
            number: Some(self.req.to.clone()),
            room: None,
        }
    }

    /// Adds a ledger entry about this call.
    pub(crate) fn note(&self, event: &str, detail: serde_json::Value) {
        self.state.ledger().record(self.ledger_note(), event, detail);
    }

    /// Keeps a failed webhook on the call's record.
    pub(crate) fn record_error(&self, error: WebhookError) {
        tracing::warn!(call_sid = %self.sid, url = %error.url, code = error.code, "webhook failed: {}", error.message);
        self.note("webhook-failed", json!({"url": error.url, "code": error.code, "message": error.message}));
        self.state.with_call(&self.sid, |c| c.webhook_errors.push(error));
    }
}

/// Seconds to the millisecond, for the ledger.
fn round(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}

/// A live update's target, for the ledger.
fn describe(voice: &Voice) -> String {
    match voice {
        Voice::Url { url, .. } => url.clone(),
        Voice::Twiml(xml) => xml.clone(),
        Voice::Join(room) => format!("room {}", room.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_descriptions() {
        assert_eq!(round(1.23456), 1.235);
        assert_eq!(describe(&Voice::Twiml("<Response/>".into())), "<Response/>");
    }
}
