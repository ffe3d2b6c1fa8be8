//! Admin-tunable policy: when to call, how often to retry, how fast to dial.

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::phone::Phone;
use crate::retry::RetryPolicy;

/// Why a settings change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsError {
    pub field: &'static str,
    pub message: String,
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError { field, message: message.into() }
}

/// The hours, in the lead's own time zone, when calls may be placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallingWindow {
    /// Local opening time, `HH:MM`.
    pub start: NaiveTime,
    /// Local closing time, `HH:MM`; no call starts at or after it.
    pub end: NaiveTime,
    /// Days of the week calls are allowed.
    pub days: Vec<Weekday>,
}

impl CallingWindow {
    /// The legal outer bounds no configuration may exceed.
    pub const EARLIEST: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
        Some(t) => t,
        None => unreachable!(),
    };
    /// See [`CallingWindow::EARLIEST`].
    pub const LATEST: NaiveTime = match NaiveTime::from_hms_opt(21, 0, 0) {
        Some(t) => t,
        None => unreachable!(),
    };

    fn validate(&self) -> Result<(), SettingsError> {
        if self.start < Self::EARLIEST || self.end > Self::LATEST {
            return Err(invalid("calling_window", "must stay within 08:00 to 21:00 local time"));
        }
        if self.start >= self.end {
            return Err(invalid("calling_window", "start must be before end"));
        }
        if self.days.is_empty() {
            return Err(invalid("calling_window", "at least one day is required"));
        }
        Ok(())
    }
}

impl Default for CallingWindow {
    fn default() -> Self {
        use Weekday::*;
        CallingWindow {
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(20, 0, 0).expect("valid time"),
            days: vec![Mon, Tue, Wed, Thu, Fri, Sat],
        }
    }
}

/// How many calls may be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacingMode {
    /// Calls in flight never exceed available salespeople times the ratio.
    Progressive,
    /// One call at a time per salesperson, started only when they are free.
    Preview,
}

/// The dialing pace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pacing {
    pub mode: PacingMode,
    /// Calls in flight per available salesperson (1.0 = one each).
    pub ratio: f64,
    /// Hard cap on calls in flight, whatever the ratio says.
    pub max_in_flight: u32,
    /// Twilio calls per second for the whole account.
    pub calls_per_second: u32,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing { mode: PacingMode::Progressive, ratio: 1.0, max_in_flight: 50, calls_per_second: 1 }
    }
}

impl Pacing {
    /// Calls allowed in flight with this many salespeople available.
    pub fn capacity(&self, available: u32) -> u32 {
        let by_ratio = match self.mode {
            PacingMode::Preview => available as f64,
            PacingMode::Progressive => (available as f64 * self.ratio).floor(),
        };
        (by_ratio as u32).min(self.max_in_flight)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if !(self.ratio.is_finite() && (0.1..=5.0).contains(&self.ratio)) {
            return Err(invalid("pacing.ratio", "must be between 0.1 and 5.0"));
        }
        if self.max_in_flight == 0 || self.max_in_flight > 1000 {
            return Err(invalid("pacing.max_in_flight", "must be between 1 and 1000"));
        }
        if self.calls_per_second == 0 || self.calls_per_second > 100 {
            return Err(invalid("pacing.calls_per_second", "must be between 1 and 100"));
        }
        Ok(())
    }
}

/// What to do when an answering machine or fax picks up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum MachineAction {
    Hangup,
    Voicemail { message: String },
}

/// Everything an admin can tune, stored as one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub calling_window: CallingWindow,
    pub retry: RetryPolicy,
    /// How long the lead's phone rings before giving up (15 to 60 seconds).
    pub ring_timeout_secs: u32,
    /// The number leads see; None uses the deployment's Twilio number.
    pub caller_id: Option<Phone>,
    pub pacing: Pacing,
    pub machine_action: MachineAction,
    /// Said to a person who answers while no salesperson is free (the
    /// safe-harbor message; the company name and callback number are added
    /// when it does not say them).
    pub abandon_message: String,
    pub company_name: String,
    /// The number a lead can call back (or ask to opt out) on, said in the
    /// safe-harbor message; None uses the caller id.
    pub callback_number: Option<Phone>,
    /// Seconds a salesperson stays in wrap-up after a call.
    pub wrap_up_secs: u32,
    /// Seconds a salesperson's phone rings before the next one is tried.
    pub salesperson_ring_secs: u32,
    pub record_calls: bool,
    /// Use Twilio's answering-machine detection.
    pub machine_detection: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            calling_window: CallingWindow::default(),
            retry: RetryPolicy::default(),
            ring_timeout_secs: 30,
            caller_id: None,
            pacing: Pacing::default(),
            machine_action: MachineAction::Hangup,
            abandon_message: "Sorry, all of our team are busy. We will call you back shortly.".into(),
            company_name: "Ibrat".into(),
            callback_number: None,
            wrap_up_secs: 10,
            salesperson_ring_secs: 15,
            record_calls: false,
            machine_detection: true,
        }
    }
}

impl Settings {
    /// Checks every rule; settings are only stored after this passes.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.calling_window.validate()?;
        self.retry.validate()?;
        self.pacing.validate()?;
        if !(15..=60).contains(&self.ring_timeout_secs) {
            return Err(invalid("ring_timeout_secs", "must be between 15 and 60"));
        }
        if self.wrap_up_secs > 600 {
            return Err(invalid("wrap_up_secs", "must be at most 600"));
        }
        if !(5..=60).contains(&self.salesperson_ring_secs) {
            return Err(invalid("salesperson_ring_secs", "must be between 5 and 60"));
        }
        if self.company_name.trim().is_empty() || self.company_name.len() > 100 {
            return Err(invalid("company_name", "must be 1 to 100 characters"));
        }
        if self.abandon_message.trim().is_empty() || self.abandon_message.len() > 500 {
            return Err(invalid("abandon_message", "must be 1 to 500 characters"));
        }
        if let MachineAction::Voicemail { message } = &self.machine_action {
            if message.trim().is_empty() || message.len() > 1000 {
                return Err(invalid("machine_action.message", "must be 1 to 1000 characters"));
            }
        }
        Ok(())
    }

    /// The safe-harbor message: who is calling and a number to call back or
    /// opt out on (`fallback_number` when neither `callback_number` nor
    /// `caller_id` is set), each added only when the message lacks it.
    pub fn safe_harbor_message(&self, fallback_number: &str) -> String {
        let mut out = self.abandon_message.trim().to_owned();
        let company = self.company_name.trim();
        if !company.is_empty() && !out.to_lowercase().contains(&company.to_lowercase()) {
            out = format!("Hello, this is {company}. {out}");
        }
        let number = self
            .callback_number
            .as_ref()
            .or(self.caller_id.as_ref())
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| fallback_number.trim().to_owned());
        if !number.is_empty() && !out.contains(&number) {
            out = format!("{out} To call us back, or to stop these calls, dial {number}.");
        }
        out
    }

    /// The Twilio ring timeout, never below the 15 seconds some laws demand.
    pub fn ring_timeout(&self) -> u32 {
        self.ring_timeout_secs.clamp(15, 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn windows_outside_legal_hours_are_refused() {
        let mut s = Settings::default();
        s.calling_window.start = NaiveTime::from_hms_opt(7, 30, 0).unwrap();
        assert_eq!(s.validate().unwrap_err().field, "calling_window");
        let mut s = Settings::default();
        s.calling_window.end = NaiveTime::from_hms_opt(21, 30, 0).unwrap();
        assert!(s.validate().is_err());
        let s = Settings { ring_timeout_secs: 10, ..Settings::default() };
        assert_eq!(s.validate().unwrap_err().field, "ring_timeout_secs");
    }

    #[test]
    fn safe_harbor_names_the_company_and_a_number() {
        let s = Settings::default();
        let m = s.safe_harbor_message("+998712000000");
        assert!(m.starts_with("Hello, this is Ibrat."), "{m}");
        assert!(m.ends_with("dial +998712000000."), "{m}");
        let s = Settings {
            callback_number: Some(Phone::parse_e164("+998712223344").unwrap()),
            abandon_message: "Ibrat here, call +998712223344.".into(),
            ..Settings::default()
        };
        assert_eq!(s.safe_harbor_message("+1"), "Ibrat here, call +998712223344.");
    }

    #[test]
    fn pacing_capacity() {
        let p = Pacing::default();
        assert_eq!(p.capacity(3), 3);
        let p = Pacing { ratio: 1.5, max_in_flight: 4, ..Pacing::default() };
        assert_eq!(p.capacity(2), 3);
        assert_eq!(p.capacity(10), 4);
        assert_eq!(p.capacity(0), 0);
    }
}
