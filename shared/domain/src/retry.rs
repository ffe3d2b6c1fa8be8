//! The retry policy: which failed outcomes are called again, after how
//! long, and how many calls a lead gets in all.

use serde::{Deserialize, Serialize};

use crate::call::CallOutcome;
use crate::settings::{invalid, SettingsError};

/// Which failed outcomes are retried, after how long, and how many times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    pub retry_no_answer: bool,
    pub retry_busy: bool,
    pub retry_failed: bool,
    pub retry_machine: bool,
    /// Delay before the 1st, 2nd, ... retry, in seconds; the last repeats.
    pub delays_secs: Vec<u64>,
    /// Calls allowed per lead in all, after which it is finished.
    pub max_attempts: u32,
    /// Delay before calling back a person who answered while no salesperson
    /// was free; such a lead also jumps to urgent.
    pub abandoned_delay_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retry_no_answer: true,
            retry_busy: true,
            retry_failed: true,
            retry_machine: true,
            delays_secs: vec![600, 3600, 4 * 3600, 24 * 3600],
            max_attempts: 5,
            abandoned_delay_secs: 120,
        }
    }
}

/// What the retry policy decided after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this many seconds.
    RetryIn(u64),
    /// Nothing more to do for this outcome (connected, or not retried).
    Done,
    /// The outcome is retried but the attempts are used up.
    Exhausted,
}

impl RetryPolicy {
    /// Decides what follows a call that ended with `outcome`, the lead having
    /// had `attempts` calls so far (this one included).
    pub fn decide(&self, outcome: CallOutcome, attempts: u32) -> RetryDecision {
        let retried = match outcome {
            CallOutcome::Connected => return RetryDecision::Done,
            CallOutcome::Abandoned | CallOutcome::Canceled => true,
            CallOutcome::NoAnswer => self.retry_no_answer,
            CallOutcome::Busy => self.retry_busy,
            CallOutcome::Failed => self.retry_failed,
            CallOutcome::Machine => self.retry_machine,
        };
        if !retried {
            return RetryDecision::Exhausted;
        }
        if attempts >= self.max_attempts {
            return RetryDecision::Exhausted;
        }
        if outcome == CallOutcome::Abandoned {
            return RetryDecision::RetryIn(self.abandoned_delay_secs);
        }
        let i = (attempts.max(1) - 1) as usize;
        let delay = self.delays_secs.get(i).or(self.delays_secs.last()).copied().unwrap_or(600);
        RetryDecision::RetryIn(delay)
    }

    pub(crate) fn validate(&self) -> Result<(), SettingsError> {
        if self.max_attempts == 0 || self.max_attempts > 50 {
            return Err(invalid("retry.max_attempts", "must be between 1 and 50"));
        }
        if self.delays_secs.is_empty() || self.delays_secs.iter().any(|d| *d < 60 || *d > 30 * 86400) {
            return Err(invalid("retry.delays_secs", "needs at least one delay, each between 60 seconds and 30 days"));
        }
        if self.abandoned_delay_secs < 30 || self.abandoned_delay_secs > 86400 {
            return Err(invalid("retry.abandoned_delay_secs", "must be between 30 seconds and one day"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedule_follows_the_policy() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(CallOutcome::NoAnswer, 1), RetryDecision::RetryIn(600));
        assert_eq!(p.decide(CallOutcome::Busy, 2), RetryDecision::RetryIn(3600));
        assert_eq!(p.decide(CallOutcome::Machine, 3), RetryDecision::RetryIn(14400));
        assert_eq!(p.decide(CallOutcome::Failed, 4), RetryDecision::RetryIn(86400));
        assert_eq!(p.decide(CallOutcome::NoAnswer, 5), RetryDecision::Exhausted);
        assert_eq!(p.decide(CallOutcome::Connected, 1), RetryDecision::Done);
        assert_eq!(p.decide(CallOutcome::Abandoned, 1), RetryDecision::RetryIn(120));
        let p = RetryPolicy { retry_machine: false, ..RetryPolicy::default() };
        assert_eq!(p.decide(CallOutcome::Machine, 1), RetryDecision::Exhausted);
    }
}
