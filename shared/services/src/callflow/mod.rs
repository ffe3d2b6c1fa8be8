//! Twilio's side of a lead's call, as pure steps over the ports (no web
//! framework): progress callbacks ([`on_status`]), the answer ([`on_voice`]:
//! a person is put in the room of the longest-idle ready salesperson, a
//! machine is left or hung up on, nobody ready means the safe-harbor message
//! and an abandoned call) and the lead's leg in the room ([`on_room_leg`]:
//! joined is "connected", left ends the conversation).
//!
//! Twilio delivers callbacks at least once and in any order, so every step
//! re-reads the call, checks the move against the call's lifecycle and
//! writes with version (calls, leads) or availability (users) conditions:
//! a duplicate or a late callback changes nothing. The steps return domain
//! decisions; the HTTP layer turns them into TwiML.

mod common;
mod error;
mod room;
mod routing;
mod status;
mod voice;

pub use error::CallflowError;
pub use room::{on_room_leg, settle, RoomLeg, SETTLE_DELAY};
pub use routing::RoomJoin;
pub use status::{on_status, IgnoreReason, StatusOutcome, StatusUpdate, TwilioCallStatus};
pub use voice::{on_voice, HangupReason, VoiceDecision, VoiceInput};
