//! Twilio's side of a call, as pure steps over the ports (no web framework):
//! progress callbacks ([`on_status`]), the answer ([`on_voice`]: a person is
//! routed to the longest-idle free salesperson, a machine is left or hung up
//! on, nobody free means an abandoned call) and the end of the salesperson's
//! leg ([`on_dial_action`]).
//!
//! Twilio delivers callbacks at least once and in any order, so every step
//! re-reads the call, checks the move against the call's lifecycle and
//! writes with version (calls, leads) or availability (users) conditions:
//! a duplicate or a late callback changes nothing. The steps return domain
//! decisions; the HTTP layer turns them into TwiML.

mod common;
mod dial;
mod error;
mod routing;
mod status;
mod voice;

pub use dial::{on_dial_action, DialCallStatus, DialDecision, DialResult};
pub use error::CallflowError;
pub use routing::Bridge;
pub use status::{on_status, IgnoreReason, StatusOutcome, StatusUpdate, TwilioCallStatus};
pub use voice::{on_voice, HangupReason, VoiceDecision, VoiceInput};

/// The query parameter of the `<Dial action>` URL that names which bridge
/// attempt a dial result is for, so a repeated or late result for an earlier
/// salesperson cannot disturb the current one.
pub const ATTEMPT_PARAM: &str = "attempt";
