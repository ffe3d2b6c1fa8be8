//! The knobs of a simulation: credentials, the seed and the rates every
//! call's outcome is drawn from, model phone numbers that always behave one
//! way, the timing of greetings and detection, the faults to inject, and
//! how fast simulated time runs.

use std::time::Duration;

use crate::faults::Faults;

/// How a model phone number always behaves, whatever the rates say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phone {
    /// A person answers after a ring or two and stays on the line (in any
    /// room it is put in) until the call is ended or moved through the API.
    Stays,
    /// A person answers and hangs up this many simulated seconds later.
    HangsUpAfter(u32),
    /// The line is busy.
    Busy,
    /// It rings until the timeout.
    NoAnswer,
    /// The call cannot be connected.
    Failed,
}

/// How the simulator behaves. Rates are probabilities in `0.0..=1.0`; a call
/// is answered by a person with `answer_rate`, by a machine with
/// `machine_rate`, is busy with `busy_rate`, fails with `failed_rate`, and is
/// not answered otherwise. Out-of-range values are clamped, never refused.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The account SID clients must authenticate with (`AC` + 32 hex).
    pub account_sid: String,
    /// The auth token: checked on REST requests and used to sign webhooks.
    pub auth_token: String,
    /// Seeds every call's draws, so the same seed replays the same run.
    pub seed: u64,
    /// Share of calls a person answers.
    pub answer_rate: f64,
    /// Share of calls a machine answers (one in twenty of those is a fax).
    pub machine_rate: f64,
    /// Share of calls that are busy.
    pub busy_rate: f64,
    /// Share of calls that fail.
    pub failed_rate: f64,
    /// Share of `<Dial>`s the salesperson picks up.
    pub salesperson_answer_rate: f64,
    /// Range of simulated seconds a bridged conversation lasts.
    pub talk_secs: (u32, u32),
    /// Range of simulated seconds a call rings before it is answered.
    pub ring_secs: (u32, u32),
    /// Range of simulated seconds a person's greeting ("Hello?") lasts.
    pub human_greeting_secs: (f64, f64),
    /// Range of simulated seconds a machine's greeting lasts, up to its beep.
    pub machine_greeting_secs: (f64, f64),
    /// Numbers that always behave one way (salespeople's phones, refusals).
    pub phones: Vec<(String, Phone)>,
    /// Faults injected into callbacks and REST answers (none by default).
    pub faults: Faults,
    /// Real seconds per simulated second: 1.0 is real time, 0.05 a fast
    /// demo, 0.0 no waiting at all (tests).
    pub time_scale: f64,
}

/// The account SID the simulator uses unless told otherwise.
pub const DEFAULT_ACCOUNT_SID: &str = "AC0000000000000000000000000000a1b2";

/// The auth token the simulator uses unless told otherwise.
pub const DEFAULT_AUTH_TOKEN: &str = "twilio-sim-auth-token";

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            account_sid: DEFAULT_ACCOUNT_SID.to_owned(),
            auth_token: DEFAULT_AUTH_TOKEN.to_owned(),
            seed: 1,
            answer_rate: 0.6,
            machine_rate: 0.15,
            busy_rate: 0.1,
            failed_rate: 0.03,
            salesperson_answer_rate: 0.95,
            talk_secs: (20, 120),
            ring_secs: (3, 12),
            human_greeting_secs: (0.5, 1.8),
            machine_greeting_secs: (6.0, 18.0),
            phones: Vec::new(),
            faults: Faults::default(),
            time_scale: 1.0,
        }
    }
}

/// Longest real wait the simulator will take in one go, whatever the scale.
const MAX_REAL_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

impl SimConfig {
    /// This config with `number` always behaving as `phone`.
    pub fn with_phone(mut self, number: impl Into<String>, phone: Phone) -> SimConfig {
        self.phones.push((number.into(), phone));
        self
    }

    /// How `number` is modelled, when it is one of [`SimConfig::phones`].
    pub fn phone(&self, number: &str) -> Option<Phone> {
        self.phones.iter().rev().find(|(n, _)| n == number).map(|(_, p)| *p)
    }

    /// The real time `simulated_secs` takes at this config's time scale;
    /// zero for a zero, negative or NaN scale.
    pub fn real_wait(&self, simulated_secs: f64) -> Duration {
        let secs = simulated_secs * self.time_scale;
        if !secs.is_finite() && secs > 0.0 {
            return MAX_REAL_WAIT;
        }
        Duration::try_from_secs_f64(secs).map_or(Duration::ZERO, |d| d.min(MAX_REAL_WAIT))
    }
}

/// A rate as a probability: NaN counts as 0, the rest is clamped to `0..=1`.
pub(crate) fn probability(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rates_leave_room_for_no_answer() {
        let c = SimConfig::default();
        let answered_or_refused = c.answer_rate + c.machine_rate + c.busy_rate + c.failed_rate;
        assert!((answered_or_refused - 0.88).abs() < 1e-9);
        assert_eq!(c.account_sid.len(), 34);
        assert!(c.account_sid[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn real_wait_scales_and_never_panics() {
        let mut c = SimConfig { time_scale: 0.5, ..SimConfig::default() };
        assert_eq!(c.real_wait(4.0), Duration::from_secs(2));
        c.time_scale = 0.0;
        assert_eq!(c.real_wait(4.0), Duration::ZERO);
        c.time_scale = f64::NAN;
        assert_eq!(c.real_wait(4.0), Duration::ZERO);
        c.time_scale = -1.0;
        assert_eq!(c.real_wait(4.0), Duration::ZERO);
        c.time_scale = f64::INFINITY;
        assert_eq!(c.real_wait(4.0), MAX_REAL_WAIT);
        assert_eq!(c.real_wait(0.0), Duration::ZERO);
    }

    #[test]
    fn probabilities_are_clamped() {
        assert_eq!(probability(f64::NAN), 0.0);
        assert_eq!(probability(-0.5), 0.0);
        assert_eq!(probability(1.5), 1.0);
        assert_eq!(probability(0.25), 0.25);
    }
}
