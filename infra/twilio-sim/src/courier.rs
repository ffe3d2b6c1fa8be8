//! Delivering callbacks with the configured faults. A call or a room owns a
//! [`Courier`], which decides each callback's fate in order (so reordering
//! is "held back until the next one has gone"); [`dispatch`] then sends.

use serde_json::json;

use crate::call::{SimStatus, WebhookError};
use crate::faults::{CallbackFate, FaultDice, Faults};
use crate::ledger::Note;
use crate::state::SimState;
use crate::twiml::Method;
use crate::webhook;

/// One callback to send.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub url: String,
    pub method: Method,
    pub params: Vec<(String, String)>,
    /// What it reports (`ringing`, `participant-join`, `AnsweredBy`...).
    pub what: String,
    /// The call status it reports, for a call status callback.
    pub call_status: Option<SimStatus>,
    /// Who it concerns, for the ledger and for recording failures.
    pub note: Note,
}

/// A source's fault dice and the callback it is holding back.
pub(crate) struct Courier {
    dice: FaultDice,
    held: Option<Delivery>,
}

impl Courier {
    pub(crate) fn new(dice: FaultDice) -> Courier {
        Courier { dice, held: None }
    }

    /// The callbacks to send now, in order, with their fates: a reordered
    /// one is held and goes right after the next.
    pub(crate) fn route(&mut self, faults: &Faults, d: Delivery) -> Vec<(Delivery, CallbackFate)> {
        let fate = self.dice.callback(faults);
        if fate == CallbackFate::Reordered && self.held.is_none() {
            self.held = Some(d);
            return Vec::new();
        }
        let fate = if fate == CallbackFate::Reordered { CallbackFate::Sent } else { fate };
        let mut out = vec![(d, fate)];
        if let Some(held) = self.held.take() {
            out.push((held, CallbackFate::Reordered));
        }
        out
    }

    /// The callback still held back, when the source ends.
    pub(crate) fn flush(&mut self) -> Vec<(Delivery, CallbackFate)> {
        self.held.take().map(|d| (d, CallbackFate::Reordered)).into_iter().collect()
    }
}

/// Sends routed callbacks in order: a delayed one in the background, a
/// duplicated one twice, a dropped one not at all (each noted in the ledger).
pub(crate) async fn dispatch(state: &SimState, routed: Vec<(Delivery, CallbackFate)>) {
    for (d, fate) in routed {
        state.ledger().record(d.note.clone(), "callback", json!({"url": d.url, "what": d.what, "fate": fate.as_str()}));
        match fate {
            CallbackFate::Dropped => {}
            CallbackFate::Delayed(secs) => {
                let state = state.clone();
                let wait = state.config().real_wait(f64::from(secs));
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    send(&state, &d).await;
                });
            }
            CallbackFate::Duplicated => {
                send(state, &d).await;
                send(state, &d).await;
            }
            CallbackFate::Sent | CallbackFate::Reordered => send(state, &d).await,
        }
    }
}

/// One request; a failure is kept on the call it concerns.
async fn send(state: &SimState, d: &Delivery) {
    let token = &state.config().auth_token;
    let result = webhook::send(state.http(), token, &d.url, d.method, &d.params).await;
    if let (Some(sid), Some(status)) = (&d.note.call_sid, d.call_status) {
        state.with_call(sid, |c| c.callbacks_sent.push(status));
    }
    if let Err(e) = result {
        record_failure(state, d, e);
    }
}

fn record_failure(state: &SimState, d: &Delivery, error: WebhookError) {
    tracing::warn!(url = %error.url, code = error.code, "callback failed: {}", error.message);
    state.ledger().record(
        d.note.clone(),
        "callback-failed",
        json!({"url": d.url, "what": d.what, "error": error.message}),
    );
    if let Some(sid) = &d.note.call_sid {
        state.with_call(sid, |c| c.webhook_errors.push(error));
    }
}
