//! Calls and their lifecycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CallId, LeadId, UserId};
use crate::transition::TransitionError;

/// Where a call is. The first five are progress; the rest are how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Created,
    Initiated,
    Ringing,
    Answered,
    Bridged,
    Completed,
    NoAnswer,
    Busy,
    Failed,
    Canceled,
    Machine,
    Abandoned,
}

impl CallStatus {
    /// All values, for exhaustive tests and documentation.
    pub const ALL: [CallStatus; 12] = [
        CallStatus::Created,
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::Answered,
        CallStatus::Bridged,
        CallStatus::Completed,
        CallStatus::NoAnswer,
        CallStatus::Busy,
        CallStatus::Failed,
        CallStatus::Canceled,
        CallStatus::Machine,
        CallStatus::Abandoned,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Created => "created",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::Answered => "answered",
            CallStatus::Bridged => "bridged",
            CallStatus::Completed => "completed",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Busy => "busy",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
            CallStatus::Machine => "machine",
            CallStatus::Abandoned => "abandoned",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// True once the call has ended; nothing moves it afterwards.
    pub fn is_terminal(self) -> bool {
        self.progress().is_none()
    }

    /// Position along created → initiated → ringing → answered → bridged.
    fn progress(self) -> Option<u8> {
        match self {
            CallStatus::Created => Some(0),
            CallStatus::Initiated => Some(1),
            CallStatus::Ringing => Some(2),
            CallStatus::Answered => Some(3),
            CallStatus::Bridged => Some(4),
            _ => None,
        }
    }

    /// Checks a move. Progress only goes forward (Twilio may skip a step or
    /// deliver it late, so skipping is fine and going back is refused); an
    /// ending must fit what happened: no-answer, busy, failed and canceled
    /// only before an answer, machine only up to the answer, abandoned only
    /// after it. A finished call never moves again.
    pub fn transition(self, to: CallStatus) -> Result<CallStatus, TransitionError<CallStatus>> {
        use CallStatus::*;
        if self == to {
            return Err(TransitionError::Unchanged(self));
        }
        let Some(from) = self.progress() else {
            return Err(TransitionError::Terminal { from: self, to });
        };
        let ok = match to.progress() {
            Some(next) => next > from,
            None => match to {
                NoAnswer | Busy | Failed | Canceled => from <= 2,
                Machine => from <= 3,
                Abandoned => from >= 3,
                Completed => true,
                _ => false,
            },
        };
        if ok {
            Ok(to)
        } else {
            Err(TransitionError::Illegal { from: self, to })
        }
    }
}

impl std::fmt::Display for CallStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who or what picked up, from Twilio's answering-machine detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    Human,
    Machine,
    Fax,
    Unknown,
}

impl AnsweredBy {
    /// Maps Twilio's `AnsweredBy` values (`machine_start`,
    /// `machine_end_beep`, ... all mean a machine).
    pub fn from_twilio(value: &str) -> Self {
        match value {
            "human" => AnsweredBy::Human,
            "fax" => AnsweredBy::Fax,
            v if v.starts_with("machine") => AnsweredBy::Machine,
            _ => AnsweredBy::Unknown,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredBy::Human => "human",
            AnsweredBy::Machine => "machine",
            AnsweredBy::Fax => "fax",
            AnsweredBy::Unknown => "unknown",
        }
    }
}

/// What a salesperson recorded about a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Disposition {
    Interested,
    NotInterested,
    /// Call the lead again at this time; goes ahead of every priority.
    CallBack {
        at: DateTime<Utc>,
    },
    WrongNumber,
    DoNotCall,
}

impl Disposition {
    /// The wire name of the outcome.
    pub fn as_str(&self) -> &'static str {
        match self {
            Disposition::Interested => "interested",
            Disposition::NotInterested => "not_interested",
            Disposition::CallBack { .. } => "call_back",
            Disposition::WrongNumber => "wrong_number",
            Disposition::DoNotCall => "do_not_call",
        }
    }
}

/// One disposition as recorded: who, when, what. A call keeps every one,
/// oldest first; the last is the call's current disposition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionRecord {
    pub by: UserId,
    pub at: DateTime<Utc>,
    pub disposition: Disposition,
    pub notes: Option<String>,
}

/// How a call ended, as counted in statistics and used by the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// A person joined a room with a salesperson in it.
    Connected,
    NoAnswer,
    Busy,
    Failed,
    Machine,
    /// A person answered and no salesperson was free.
    Abandoned,
    Canceled,
}

impl CallOutcome {
    /// The outcome a terminal call status stands for.
    pub fn from_status(status: CallStatus) -> Option<Self> {
        Some(match status {
            CallStatus::Completed => CallOutcome::Connected,
            CallStatus::NoAnswer => CallOutcome::NoAnswer,
            CallStatus::Busy => CallOutcome::Busy,
            CallStatus::Failed => CallOutcome::Failed,
            CallStatus::Machine => CallOutcome::Machine,
            CallStatus::Abandoned => CallOutcome::Abandoned,
            CallStatus::Canceled => CallOutcome::Canceled,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Connected => "connected",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Busy => "busy",
            CallOutcome::Failed => "failed",
            CallOutcome::Machine => "machine",
            CallOutcome::Abandoned => "abandoned",
            CallOutcome::Canceled => "canceled",
        }
    }
}

/// One attempt to reach a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub id: CallId,
    pub lead_id: LeadId,
    /// The salesperson the lead was bridged to, once there is one.
    pub salesperson_id: Option<UserId>,
    /// Twilio's `CA...` id, once Twilio accepted the call.
    pub twilio_sid: Option<String>,
    pub status: CallStatus,
    pub answered_by: Option<AnsweredBy>,
    pub ring_secs: Option<u32>,
    pub talk_secs: Option<u32>,
    pub outcome: Option<CallOutcome>,
    pub disposition: Option<Disposition>,
    pub notes: Option<String>,
    pub recording_url: Option<String>,
    /// The attempt number this call is for the lead (1 for the first).
    pub attempt: u32,
    pub created_at: DateTime<Utc>,
    pub initiated_at: Option<DateTime<Utc>>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// When a salesperson was claimed for it (the lead's leg was sent to
    /// their room).
    pub bridged_at: Option<DateTime<Utc>>,
    /// When the lead's leg joined a room with the salesperson in it (the
    /// participant-join callback): the only source of "connected".
    pub connected_at: Option<DateTime<Utc>>,
    /// When the safe-harbor message started (an abandoned call).
    pub safe_harbor_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Set when the request that places the call got no readable answer:
    /// Twilio may or may not have the call. Until it is resolved (from a
    /// callback or by asking Twilio) the lead is not dialed again.
    pub placement_unknown_at: Option<DateTime<Utc>>,
    /// Every disposition recorded, oldest first.
    pub dispositions: Vec<DispositionRecord>,
    /// The highest Twilio `SequenceNumber` applied, to drop replays.
    pub last_sequence: Option<u32>,
    pub version: u64,
}

impl Call {
    /// A new call record for a lead's attempt, before Twilio knows of it.
    pub fn new(id: CallId, lead_id: LeadId, attempt: u32, created_at: DateTime<Utc>) -> Self {
        Call {
            id,
            lead_id,
            salesperson_id: None,
            twilio_sid: None,
            status: CallStatus::Created,
            answered_by: None,
            ring_secs: None,
            talk_secs: None,
            outcome: None,
            disposition: None,
            notes: None,
            recording_url: None,
            attempt,
            created_at,
            initiated_at: None,
            ringing_at: None,
            answered_at: None,
            bridged_at: None,
            connected_at: None,
            safe_harbor_at: None,
            ended_at: None,
            placement_unknown_at: None,
            dispositions: Vec::new(),
            last_sequence: None,
            version: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallStatus::*;

    const LEGAL: &[(CallStatus, &[CallStatus])] = &[
        (Created, &[Initiated, Ringing, Answered, Bridged, Completed, NoAnswer, Busy, Failed, Canceled, Machine]),
        (Initiated, &[Ringing, Answered, Bridged, Completed, NoAnswer, Busy, Failed, Canceled, Machine]),
        (Ringing, &[Answered, Bridged, Completed, NoAnswer, Busy, Failed, Canceled, Machine]),
        (Answered, &[Bridged, Completed, Machine, Abandoned]),
        (Bridged, &[Completed, Abandoned]),
    ];

    #[test]
    fn every_pair_is_checked() {
        for from in CallStatus::ALL {
            let legal = LEGAL.iter().find(|(f, _)| *f == from).map(|l| l.1).unwrap_or(&[]);
            for to in CallStatus::ALL {
                let got = from.transition(to);
                if legal.contains(&to) {
                    assert_eq!(got, Ok(to), "{from} -> {to}");
                } else {
                    let err = got.expect_err(&format!("{from} -> {to} should be refused"));
                    if from == to {
                        assert_eq!(err, TransitionError::Unchanged(from));
                    } else if from.is_terminal() {
                        assert!(err.is_stale(), "{from} -> {to}");
                    } else {
                        assert!(!err.is_stale(), "{from} -> {to}");
                    }
                }
            }
        }
    }

    #[test]
    fn twilio_answered_by_values_map() {
        assert_eq!(AnsweredBy::from_twilio("human"), AnsweredBy::Human);
        for m in ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"] {
            assert_eq!(AnsweredBy::from_twilio(m), AnsweredBy::Machine);
        }
        assert_eq!(AnsweredBy::from_twilio("fax"), AnsweredBy::Fax);
        assert_eq!(AnsweredBy::from_twilio("unknown"), AnsweredBy::Unknown);
        assert_eq!(AnsweredBy::from_twilio(""), AnsweredBy::Unknown);
    }
}
