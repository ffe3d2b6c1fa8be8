//! Plays one call out in the background, as Twilio would: progress status
//! callbacks in order, the drawn outcome, the voice webhook's TwiML when
//! answered (see `script`), and the final status callback. A REST hang-up
//! stops it at the next step or mid-wait.

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::call::{SimStatus, WebhookError};
use crate::outcome::{Answerer, CallDice, Outcome};
use crate::request::CallRequest;
use crate::resource::twilio_date;
use crate::state::{PlayingGuard, Registered, SimState};
use crate::webhook;

/// Simulated seconds machine detection listens before the voice URL is requested.
const AMD_SECS: f64 = 2.5;

/// The call was ended through the REST API; stop playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HungUp;

/// One call being played.
pub(crate) struct Player {
    pub(crate) state: SimState,
    pub(crate) sid: String,
    pub(crate) req: CallRequest,
    pub(crate) dice: CallDice,
    hangup: watch::Receiver<bool>,
    created: DateTime<Utc>,
    /// Simulated seconds since creation.
    elapsed: f64,
    answered_at: Option<f64>,
    pub(crate) answered_by: Option<Answerer>,
    sequence: u32,
    _playing: PlayingGuard,
}

/// Starts playing a registered call in the background.
pub(crate) fn spawn(state: SimState, registered: Registered, req: CallRequest, created: DateTime<Utc>) {
    let dice = CallDice::new(state.config().seed, registered.index);
    let player = Player {
        state,
        sid: registered.sid,
        req,
        dice,
        hangup: registered.hangup,
        created,
        elapsed: 0.0,
        answered_at: None,
        answered_by: None,
        sequence: 0,
        _playing: registered.playing,
    };
    tokio::spawn(player.play());
}

impl Player {
    async fn play(mut self) {
        let proposed = self.run().await.unwrap_or(SimStatus::Canceled);
        self.finish(proposed).await;
    }

    /// Everything up to the end; the status the call ends with.
    async fn run(&mut self) -> Result<SimStatus, HungUp> {
        let plan = self.dice.plan(self.state.config(), self.req.timeout_secs);
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
        self.answered_by = self.req.machine_detection.then_some(who);
        self.progress(SimStatus::InProgress).await?;
        if self.req.machine_detection {
            self.wait(AMD_SECS).await?;
        }
        self.follow().await?;
        Ok(SimStatus::Completed)
    }

    /// Moves the call to `status` and sends its callback; `HungUp` if the
    /// call was ended meanwhile.
    async fn progress(&mut self, status: SimStatus) -> Result<(), HungUp> {
        let now = self.now();
        let answered_by = self.answered_by.map(|a| a.as_str().to_owned());
        let moved = self.state.with_call(&self.sid, |c| {
            if c.status.is_final() {
                return false;
            }
            c.status = status;
            c.date_updated = now;
            if status == SimStatus::InProgress {
                c.start_time = Some(now);
                c.answered_by = answered_by;
            }
            true
        });
        if moved != Some(true) {
            return Err(HungUp);
        }
        self.status_callback(status, None).await;
        self.check()
    }

    /// Records the end and sends the final status callback.
    async fn finish(&mut self, proposed: SimStatus) {
        let now = self.now();
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
        self.status_callback(status, Some(duration)).await;
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
        let result = webhook::send(self.state.http(), &self.state.config().auth_token, &url, method, &params).await;
        self.state.with_call(&self.sid, |c| c.callbacks_sent.push(status));
        if let Err(e) = result {
            self.record_error(e);
        }
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
            p.push(("AnsweredBy".into(), who.as_str().into()));
        }
        p
    }

    /// Waits `secs` simulated seconds (scaled to real time); `HungUp` if the
    /// call is ended first, with the simulated time that did pass counted.
    pub(crate) async fn wait(&mut self, secs: f64) -> Result<(), HungUp> {
        self.check()?;
        let secs = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
        let real = self.state.config().real_wait(secs);
        if real.is_zero() {
            self.elapsed += secs;
            return Ok(());
        }
        let started = tokio::time::Instant::now();
        let hangup = &mut self.hangup;
        let hung_up = tokio::select! {
            _ = tokio::time::sleep(real) => false,
            seen = hangup.wait_for(|h| *h) => seen.is_ok(),
        };
        if hung_up {
            let share = started.elapsed().as_secs_f64() / real.as_secs_f64();
            self.elapsed += secs * share.min(1.0);
            return Err(HungUp);
        }
        self.elapsed += secs;
        Ok(())
    }

    /// `HungUp` once the call has been ended through the REST API.
    pub(crate) fn check(&self) -> Result<(), HungUp> {
        if *self.hangup.borrow() {
            Err(HungUp)
        } else {
            Ok(())
        }
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

    /// Keeps a failed webhook on the call's record.
    pub(crate) fn record_error(&self, error: WebhookError) {
        tracing::warn!(call_sid = %self.sid, url = %error.url, code = error.code, "webhook failed: {}", error.message);
        self.state.with_call(&self.sid, |c| c.webhook_errors.push(error));
    }
}
