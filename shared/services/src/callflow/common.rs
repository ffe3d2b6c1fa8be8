//! Helpers shared by the call-flow steps.

use chrono::{DateTime, Utc};
use ibrat_domain::{AnsweredBy, Call, CallOutcome, Settings};

use crate::context::Deps;

/// How many times a step re-reads and retries after losing a race.
pub(crate) const MAX_ROUNDS: usize = 6;

/// The safe-harbor message a person hears when nobody is ready: the
/// configured message with the company's name and a number to call back or
/// opt out on.
pub(crate) fn safe_harbor(deps: &Deps, settings: &Settings) -> String {
    settings.safe_harbor_message(&deps.config.twilio_from)
}

/// True for answers that are not a person.
pub(crate) fn is_machine(answered_by: Option<AnsweredBy>) -> bool {
    matches!(answered_by, Some(AnsweredBy::Machine | AnsweredBy::Fax))
}

/// Whole seconds from `from` to `to` (never negative).
pub(crate) fn secs_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    (to - from).num_seconds().clamp(0, u32::MAX as i64) as u32
}

/// The outcome a finished call ended with (None while it is open).
pub(crate) fn finished_outcome(call: &Call) -> Option<CallOutcome> {
    call.outcome.or_else(|| CallOutcome::from_status(call.status))
}
