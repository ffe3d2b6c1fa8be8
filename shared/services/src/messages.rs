//! Messages on the work queue. They are hints: the table is the truth, and
//! handling any message twice is harmless.

use ibrat_domain::{CallId, LeadId, UserId};
use serde::{Deserialize, Serialize};

/// One unit of queued work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueueMessage {
    /// Dial this lead if it is still due (sent by the scheduler and by
    /// `POST /api/calls/initiate`).
    Dial {
        lead_id: LeadId,
        /// Dial now even outside the automatic order (admin request); the
        /// calling window and do-not-call rules still apply.
        #[serde(default)]
        manual: bool,
    },
    /// Wrap-up time is over: make the salesperson available again if they
    /// are still in the wrap-up that began at `since_ms`.
    WrapUpEnd { user_id: UserId, since_ms: i64 },
    /// The lead's leg of a routed call is over but its room events had not
    /// all come: close it on what is known now (connected only if its join
    /// was seen).
    SettleCall { call_id: CallId },
    /// Something changed (a salesperson became free, a call ended, leads
    /// arrived): run the scheduler's tick now rather than at the next minute.
    Nudge,
}

impl QueueMessage {
    /// The JSON body.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("queue messages serialise")
    }

    /// Parses a body; malformed bodies are refused (and dropped by consumers).
    pub fn parse(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}
