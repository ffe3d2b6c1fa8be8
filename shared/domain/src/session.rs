//! A salesperson's working session: their own phone line, called by the
//! system and held open in their conference room all day, so an answered
//! lead can be dropped straight into it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// Where the salesperson's line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    /// Their phone is being called; not routable yet.
    Connecting,
    /// They are in their room (the participant-join was seen): routable.
    Up,
    /// The session is over; `ended_reason` says why.
    Ended,
}

impl LineState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LineState::Connecting => "connecting",
            LineState::Up => "up",
            LineState::Ended => "ended",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [LineState::Connecting, LineState::Up, LineState::Ended].into_iter().find(|l| l.as_str() == s)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEndReason {
    /// They ended it (REST or WebSocket).
    AgentEnded,
    /// They hung up their phone.
    AgentHungUp,
    /// Their phone was not answered.
    NoAnswer,
    /// Their phone was busy.
    Busy,
    /// The call to their phone failed (or was refused by Twilio).
    Failed,
    /// The line dropped without them hanging up (the room ended, or Twilio
    /// reports the leg over while we thought it up).
    LineLost,
    /// They have no phone number on file.
    NoPhone,
}

impl SessionEndReason {
    /// All values.
    pub const ALL: [SessionEndReason; 7] = [
        SessionEndReason::AgentEnded,
        SessionEndReason::AgentHungUp,
        SessionEndReason::NoAnswer,
        SessionEndReason::Busy,
        SessionEndReason::Failed,
        SessionEndReason::LineLost,
        SessionEndReason::NoPhone,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEndReason::AgentEnded => "agent_ended",
            SessionEndReason::AgentHungUp => "agent_hung_up",
            SessionEndReason::NoAnswer => "no_answer",
            SessionEndReason::Busy => "busy",
            SessionEndReason::Failed => "failed",
            SessionEndReason::LineLost => "line_lost",
            SessionEndReason::NoPhone => "no_phone",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One salesperson's session (the latest; a new one replaces an ended one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSession {
    pub user_id: UserId,
    pub line: LineState,
    pub started_at: DateTime<Utc>,
    /// When the participant-join of their leg was seen.
    pub line_up_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_reason: Option<SessionEndReason>,
    /// Twilio's SID of their leg, once Twilio accepted it.
    pub agent_call_sid: Option<String>,
    pub version: u64,
}

impl AgentSession {
    /// A session whose line is being called.
    pub fn connecting(user_id: UserId, now: DateTime<Utc>) -> Self {
        AgentSession {
            user_id,
            line: LineState::Connecting,
            started_at: now,
            line_up_at: None,
            ended_at: None,
            ended_reason: None,
            agent_call_sid: None,
            version: 1,
        }
    }

    /// True while the session is not over.
    pub fn is_open(&self) -> bool {
        self.line != LineState::Ended
    }

    /// Only a salesperson whose line is up may be given a call.
    pub fn is_routable(&self) -> bool {
        self.line == LineState::Up
    }

    /// The conference room the salesperson sits in.
    pub fn room(&self) -> String {
        room_name(&self.user_id)
    }
}

/// The prefix of every salesperson's room (`agent-<user_id>`).
pub const ROOM_PREFIX: &str = "agent-";

/// The name of a salesperson's conference room.
pub fn room_name(user: &UserId) -> String {
    format!("{ROOM_PREFIX}{user}")
}

/// The salesperson whose room this is, if it is one of ours.
pub fn room_owner(room: &str) -> Option<UserId> {
    room.strip_prefix(ROOM_PREFIX).and_then(|id| UserId::parse(id).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for r in SessionEndReason::ALL {
            assert_eq!(SessionEndReason::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for l in [LineState::Connecting, LineState::Up, LineState::Ended] {
            assert_eq!(LineState::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn rooms_name_their_owner() {
        let u = UserId::new();
        let s = AgentSession::connecting(u.clone(), Utc::now());
        assert_eq!(room_owner(&s.room()), Some(u));
        assert_eq!(room_owner("someone-else"), None);
        assert!(!s.is_routable() && s.is_open());
    }
}
