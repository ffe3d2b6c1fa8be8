//! The test kit every test and bench builds its fixtures from (a
//! dev-dependency only; nothing in production links it):
//!
//! - [`time`]: the pinned instants (inside and outside the calling window)
//!   and [`TestClock`], stopped or running with tokio's clock. Domain time in
//!   tests never comes from the wall clock.
//! - [`deps`]: [`TestDeps`], `Deps` over the local adapters with the kit's
//!   doubles, any port replaceable.
//! - [`telephony`], [`events`], [`queue`]: a scripted telephony that records
//!   every request, a recording publisher, a recording in-memory queue.
//! - [`people`], [`leads`], [`calls`]: builders for users, salespeople idle
//!   since an instant, leads queued at an instant, calls in each state.
//! - [`crash`]: a store that stops writing from its `n`th write on (crash
//!   points between two writes).
//! - [`connections`]: a connection sender that records posts and closes.
//! - [`settings`]: settings documents edited for end-to-end tests.
//! - [`store`]: a store whose reads of chosen items fail as in an outage.
//! - [`lambda`]: Lambda event fixtures loaded from files.
//! - [`moto`] (feature `moto`): the AWS emulator and the serialising proxy.

pub mod calls;
pub mod connections;
pub mod crash;
pub mod deps;
pub mod events;
pub mod lambda;
pub mod leads;
#[cfg(feature = "moto")]
pub mod moto;
pub mod people;
pub mod queue;
#[cfg(feature = "moto")]
mod serial_proxy;
pub mod settings;
pub mod store;
pub mod telephony;
pub mod time;

pub use calls::call;
pub use connections::RecordingConnections;
pub use crash::CrashingStore;
pub use deps::{test_config, TestDeps, TestDepsBuilder, PUBLIC_URL};
pub use events::RecordingEvents;
pub use leads::{lead, lead_phone, LeadBuilder, TASHKENT};
pub use people::{open_line, password_hash, salesperson, user, UserBuilder, PASSWORD};
pub use queue::RecordingQueue;
pub use store::FailingStore;
pub use telephony::{FakeTelephony, PlacedRecord, TelephonyRequest};
pub use time::{inside_window, ms, outside_window, utc, TestClock};
