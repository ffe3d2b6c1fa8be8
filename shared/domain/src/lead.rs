//! Leads and their lifecycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::email::Email;
use crate::ids::{CallId, ImportId, LeadId, UserId};
use crate::phone::Phone;
use crate::transition::TransitionError;

/// How soon a lead should be dialed relative to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Urgent,
    High,
    Medium,
    Low,
}

impl Priority {
    /// All values, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::Urgent, Priority::High, Priority::Medium, Priority::Low];

    /// 0 for urgent up to 3 for low: the order the dial queue sorts by.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    /// Accepts the names (any case) and the numbers 1 (urgent) to 4 (low).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "urgent" | "1" => Some(Priority::Urgent),
            "high" | "2" => Some(Priority::High),
            "medium" | "normal" | "3" => Some(Priority::Medium),
            "low" | "4" => Some(Priority::Low),
            _ => None,
        }
    }
}

/// Where a lead is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Known but not dialable yet (for example its time zone is unknown).
    Pending,
    /// Waiting in the dial queue.
    Queued,
    /// Claimed by a dialer; the call is being placed.
    Dialing,
    /// Twilio reports the phone ringing.
    Ringing,
    /// Answered by a person and bridged (or being bridged) to a salesperson.
    InCall,
    /// Reached a person; nothing more to do unless someone requeues it.
    Completed,
    /// Waiting for its next attempt (or a requested callback).
    RetryScheduled,
    /// Every allowed attempt was used.
    NoMoreAttempts,
    /// The number is on the do-not-call list.
    DoNotCall,
    /// The number cannot be called.
    Invalid,
}

impl LeadStatus {
    /// All values, for exhaustive tests and documentation.
    pub const ALL: [LeadStatus; 10] = [
        LeadStatus::Pending,
        LeadStatus::Queued,
        LeadStatus::Dialing,
        LeadStatus::Ringing,
        LeadStatus::InCall,
        LeadStatus::Completed,
        LeadStatus::RetryScheduled,
        LeadStatus::NoMoreAttempts,
        LeadStatus::DoNotCall,
        LeadStatus::Invalid,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Pending => "pending",
            LeadStatus::Queued => "queued",
            LeadStatus::Dialing => "dialing",
            LeadStatus::Ringing => "ringing",
            LeadStatus::InCall => "in_call",
            LeadStatus::Completed => "completed",
            LeadStatus::RetryScheduled => "retry_scheduled",
            LeadStatus::NoMoreAttempts => "no_more_attempts",
            LeadStatus::DoNotCall => "do_not_call",
            LeadStatus::Invalid => "invalid",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Statuses a dialer may claim from: the lead sits in the dial queue.
    pub fn is_dialable(self) -> bool {
        matches!(self, LeadStatus::Queued | LeadStatus::RetryScheduled)
    }

    /// Statuses with a call in progress.
    pub fn is_active(self) -> bool {
        matches!(self, LeadStatus::Dialing | LeadStatus::Ringing | LeadStatus::InCall)
    }

    /// Checks a move against the lifecycle:
    ///
    /// ```text
    /// pending ─► queued ─► dialing ─► ringing ─► in_call ─► completed
    ///              ▲          │          │          │           │
    ///              └── retry_scheduled ◄─┴──────────┴───────────┘ (callback)
    /// dialing/ringing/in_call ─► no_more_attempts | invalid
    /// anything but invalid ─► do_not_call;  admin requeue ─► queued
    /// ```
    pub fn transition(self, to: LeadStatus) -> Result<LeadStatus, TransitionError<LeadStatus>> {
        use LeadStatus::*;
        if self == to {
            return Err(TransitionError::Unchanged(self));
        }
        let ok = match (self, to) {
            (_, DoNotCall) => self != Invalid,
            (Pending, Queued | Invalid) => true,
            (Queued, Pending | Dialing | Invalid) => true,
            (RetryScheduled, Pending | Queued | Dialing | Invalid) => true,
            // A dial that could not be placed goes back to the queue or on to
            // its retry; an unreachable number becomes invalid.
            (Dialing, Queued | Ringing | InCall | RetryScheduled | NoMoreAttempts | Invalid) => true,
            (Ringing, InCall | RetryScheduled | NoMoreAttempts | Invalid) => true,
            // A call answered by a person ends complete, or is rescheduled when
            // it was abandoned (no salesperson free) or a callback was asked.
            (InCall, Completed | RetryScheduled | NoMoreAttempts | Invalid) => true,
            // After the call the salesperson's disposition can still move it.
            (Completed, Queued | RetryScheduled | Invalid) => true,
            (NoMoreAttempts, Queued) => true,
            (DoNotCall, Queued | Pending) => true,
            _ => false,
        };
        if ok {
            Ok(to)
        } else if self == Invalid {
            Err(TransitionError::Terminal { from: self, to })
        } else {
            Err(TransitionError::Illegal { from: self, to })
        }
    }
}

impl std::fmt::Display for LeadStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Someone to call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub name: String,
    pub phone: Phone,
    pub email: Option<Email>,
    pub priority: Priority,
    pub status: LeadStatus,
    /// Calls placed so far.
    pub attempts: u32,
    /// When the lead may next be dialed (None: not scheduled).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// True when `next_attempt_at` is a callback a salesperson asked for:
    /// due callbacks go before every priority.
    pub callback: bool,
    /// IANA zone name; None when unknown (then the lead is not dialed).
    pub timezone: Option<String>,
    pub notes: String,
    /// Columns of the CSV the lead came from that are not ours.
    pub custom: BTreeMap<String, String>,
    pub import_id: Option<ImportId>,
    /// The line of the CSV the lead came from.
    pub import_line: Option<u64>,
    /// The call in progress or last made.
    pub last_call_id: Option<CallId>,
    /// The salesperson who last spoke to the lead (so they see it).
    pub salesperson_id: Option<UserId>,
    /// Why a pending lead is not being dialed, for the API to show.
    pub hold_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use LeadStatus::*;

    /// The full table of legal moves; every other pair must be refused.
    const LEGAL: &[(LeadStatus, &[LeadStatus])] = &[
        (Pending, &[Queued, Invalid, DoNotCall]),
        (Queued, &[Pending, Dialing, Invalid, DoNotCall]),
        (Dialing, &[Queued, Ringing, InCall, RetryScheduled, NoMoreAttempts, Invalid, DoNotCall]),
        (Ringing, &[InCall, RetryScheduled, NoMoreAttempts, Invalid, DoNotCall]),
        (InCall, &[Completed, RetryScheduled, NoMoreAttempts, Invalid, DoNotCall]),
        (Completed, &[Queued, RetryScheduled, Invalid, DoNotCall]),
        (RetryScheduled, &[Pending, Queued, Dialing, Invalid, DoNotCall]),
        (NoMoreAttempts, &[Queued, DoNotCall]),
        (DoNotCall, &[Queued, Pending]),
        (Invalid, &[]),
    ];

    #[test]
    fn every_pair_is_checked() {
        for from in LeadStatus::ALL {
            let legal = LEGAL.iter().find(|(f, _)| *f == from).unwrap().1;
            for to in LeadStatus::ALL {
                let got = from.transition(to);
                if legal.contains(&to) {
                    assert_eq!(got, Ok(to), "{from} -> {to}");
                } else if from == to {
                    assert_eq!(got, Err(TransitionError::Unchanged(from)));
                } else {
                    assert!(got.is_err(), "{from} -> {to} should be refused");
                }
            }
        }
    }

    #[test]
    fn names_and_priorities_parse() {
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Priority::parse("URGENT"), Some(Priority::Urgent));
        assert_eq!(Priority::parse("4"), Some(Priority::Low));
        assert_eq!(Priority::parse("5"), None);
        assert!(Priority::Urgent.rank() < Priority::Low.rank());
    }
}
