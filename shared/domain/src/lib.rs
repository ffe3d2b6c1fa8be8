//! The Ibrat dialer's domain: what a lead, a call and a salesperson are, the
//! lifecycles they move through, and the policies (calling windows, retries,
//! pacing) that decide when to dial. Pure data and rules: no I/O, no cloud,
//! no web framework, so every rule can be tested in microseconds.

pub mod bounds;
pub mod call;
pub mod email;
pub mod events;
pub mod ids;
pub mod lead;
pub mod phone;
pub mod retry;
pub mod session;
pub mod settings;
pub mod timezone;
pub mod transition;
pub mod user;
pub mod window;

pub use call::{AnsweredBy, Call, CallOutcome, CallStatus, Disposition, DispositionRecord};
pub use email::{Email, EmailError};
pub use events::{Audience, Event, EventKind};
pub use ids::{CallId, IdError, ImportId, LeadId, UserId};
pub use lead::{Lead, LeadStatus, Priority};
pub use phone::{Phone, PhoneError, Region};
pub use retry::{RetryDecision, RetryPolicy};
pub use session::{AgentSession, LineState, SessionEndReason};
pub use settings::{CallingWindow, MachineAction, Pacing, Settings, SettingsError};
pub use transition::TransitionError;
pub use user::{Availability, Role, User};
