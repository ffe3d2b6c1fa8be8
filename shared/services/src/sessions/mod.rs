//! Agent sessions: a salesperson's own phone line, called by the system and
//! held open in their conference room (`agent-<user_id>`) for as long as they
//! work, so an answered lead is dropped straight into it (DESIGN.md, "Agent
//! sessions").
//!
//! Only a salesperson whose line is up (their participant-join was seen) is
//! routable: the claim of a salesperson and every return to `available`
//! check the session item in the same transaction. Ending the session,
//! hanging up or losing the line takes them off routing with the reason
//! recorded. Twilio's callbacks for their leg and for the rooms are handled
//! in [`line`]; each is idempotent (version conditions, SID checks).

mod control;
mod error;
mod line;
mod sweep;
mod view;

pub use control::{end, hangup, start};
pub use error::{error_code, SessionError};
pub use line::{
    on_agent_status, on_agent_voice, on_conference_event, AgentVoiceDecision, ConferenceEvent, ConferenceEventKind,
    ConferenceOutcome, SessionRef,
};
pub use sweep::{sweep, SweepOptions, SweepOutcome};
pub use view::{view, SessionView};

/// The query parameter naming the salesperson on their leg's callbacks.
pub const USER_PARAM: &str = "user_id";
/// The query parameter naming which session (its start, epoch ms) a
/// callback of the salesperson's leg belongs to, so a late callback of an
/// earlier session never touches the current one.
pub const SESSION_PARAM: &str = "session";
