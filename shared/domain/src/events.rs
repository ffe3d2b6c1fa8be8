//! Events pushed to connected clients. Versioned JSON: every event carries
//! `v`, `type` and `ts`; new fields may be added within a version, never
//! removed or renamed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::call::{AnsweredBy, CallOutcome, CallStatus};
use crate::ids::{CallId, ImportId, LeadId, UserId};
use crate::lead::{Lead, LeadStatus, Priority};
use crate::session::{LineState, SessionEndReason};
use crate::user::Availability;

/// The event format version.
pub const EVENT_VERSION: u32 = 1;

/// Who may receive an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Admins only (imports, alerts, other people's work).
    Admins,
    /// Admins and the one salesperson the event concerns.
    AdminsAnd(UserId),
    /// Every connected user (queue statistics).
    Everyone,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    CallCreated {
        call_id: CallId,
        lead_id: LeadId,
        attempt: u32,
    },
    CallRinging {
        call_id: CallId,
        lead_id: LeadId,
    },
    CallAnswered {
        call_id: CallId,
        lead_id: LeadId,
        answered_by: AnsweredBy,
    },
    /// Sent to the salesperson before the lead's audio reaches their room:
    /// who is coming (the screen pop).
    CallIncoming {
        call_id: CallId,
        lead_id: LeadId,
        salesperson_id: UserId,
        lead_name: String,
        lead_phone: String,
        notes: String,
        attempts: u32,
        custom_fields: BTreeMap<String, String>,
        /// The outcome of the lead's last recorded disposition, if any.
        last_disposition: Option<String>,
    },
    /// The lead's leg joined the salesperson's room: they are talking.
    CallConnected {
        call_id: CallId,
        lead_id: LeadId,
        salesperson_id: UserId,
        connected_at: DateTime<Utc>,
    },
    /// A salesperson's session (their line) changed.
    SessionUpdated {
        user_id: UserId,
        line: LineState,
        ended_reason: Option<SessionEndReason>,
        availability: Availability,
    },
    CallBridged {
        call_id: CallId,
        lead_id: LeadId,
        salesperson_id: UserId,
    },
    CallCompleted {
        call_id: CallId,
        lead_id: LeadId,
        salesperson_id: Option<UserId>,
        status: CallStatus,
        outcome: CallOutcome,
        ring_secs: Option<u32>,
        talk_secs: Option<u32>,
        connected_at: Option<DateTime<Utc>>,
    },
    LeadUpdated {
        lead_id: LeadId,
        status: LeadStatus,
        priority: Priority,
        salesperson_id: Option<UserId>,
        next_attempt_at: Option<DateTime<Utc>>,
    },
    ImportProgress {
        import_id: ImportId,
        rows: u64,
        imported: u64,
        duplicates: u64,
        invalid: u64,
        do_not_call: u64,
    },
    ImportCompleted {
        import_id: ImportId,
        status: String,
        rows: u64,
        imported: u64,
        duplicates: u64,
        invalid: u64,
        do_not_call: u64,
    },
    UserPresence {
        user_id: UserId,
        online: bool,
    },
    UserAvailability {
        user_id: UserId,
        availability: Availability,
    },
    QueueStats {
        waiting_by_priority: BTreeMap<String, u64>,
        calls_in_flight: u64,
        salespeople_available: u64,
    },
    /// Something an admin must act on (bad Twilio credentials, say).
    Alert {
        code: String,
        message: String,
    },
}

impl EventKind {
    /// The event telling clients a lead changed, built from the lead as
    /// stored (the one place its fields are picked).
    pub fn lead_updated(lead: &Lead) -> Self {
        EventKind::LeadUpdated {
            lead_id: lead.id.clone(),
            status: lead.status,
            priority: lead.priority,
            salesperson_id: lead.salesperson_id.clone(),
            next_attempt_at: lead.next_attempt_at,
        }
    }
}

/// An event with its envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u32,
    pub ts: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// Wraps `kind` in the current envelope.
    pub fn new(kind: EventKind, ts: DateTime<Utc>) -> Self {
        Event { v: EVENT_VERSION, ts, kind }
    }

    /// The wire name of the event type.
    pub fn type_name(&self) -> &'static str {
        use EventKind::*;
        match &self.kind {
            CallCreated { .. } => "call_created",
            CallRinging { .. } => "call_ringing",
            CallAnswered { .. } => "call_answered",
            CallIncoming { .. } => "call_incoming",
            CallConnected { .. } => "call_connected",
            SessionUpdated { .. } => "session_updated",
            CallBridged { .. } => "call_bridged",
            CallCompleted { .. } => "call_completed",
            LeadUpdated { .. } => "lead_updated",
            ImportProgress { .. } => "import_progress",
            ImportCompleted { .. } => "import_completed",
            UserPresence { .. } => "user_presence",
            UserAvailability { .. } => "user_availability",
            QueueStats { .. } => "queue_stats",
            Alert { .. } => "alert",
        }
    }

    /// Who may see it: a salesperson only ever sees their own calls, leads,
    /// presence and availability, plus the queue statistics.
    pub fn audience(&self) -> Audience {
        use EventKind::*;
        match &self.kind {
            CallIncoming { salesperson_id, .. }
            | CallBridged { salesperson_id, .. }
            | CallConnected { salesperson_id, .. } => Audience::AdminsAnd(salesperson_id.clone()),
            SessionUpdated { user_id, .. } => Audience::AdminsAnd(user_id.clone()),
            CallCompleted { salesperson_id: Some(s), .. } | LeadUpdated { salesperson_id: Some(s), .. } => {
                Audience::AdminsAnd(s.clone())
            }
            UserPresence { user_id, .. } | UserAvailability { user_id, .. } => Audience::AdminsAnd(user_id.clone()),
            QueueStats { .. } => Audience::Everyone,
            _ => Audience::Admins,
        }
    }

    /// The JSON sent on the wire.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("events always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_flat_and_versioned() {
        let ts = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap().with_timezone(&Utc);
        let e = Event::new(EventKind::Alert { code: "twilio_auth".into(), message: "bad".into() }, ts);
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["type"], "alert");
        assert_eq!(v["type"], e.type_name());
        assert_eq!(v["code"], "twilio_auth");
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);
        assert_eq!(e.audience(), Audience::Admins);
    }

    #[test]
    fn salesperson_events_name_their_owner() {
        let sp = UserId::new();
        let e = Event::new(
            EventKind::UserAvailability { user_id: sp.clone(), availability: Availability::Away },
            Utc::now(),
        );
        assert_eq!(e.audience(), Audience::AdminsAnd(sp));
        let q = Event::new(
            EventKind::QueueStats {
                waiting_by_priority: BTreeMap::new(),
                calls_in_flight: 0,
                salespeople_available: 0,
            },
            Utc::now(),
        );
        assert_eq!(q.audience(), Audience::Everyone);
    }
}
