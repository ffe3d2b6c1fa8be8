//! The dialing engine: which leads to call and when (`scheduler`,
//! `due_leads`), claiming and placing calls (`dialer`, with pacing and
//! call-rate slots), pausing and resuming (`pause`), ending calls (`finish`),
//! unsticking them (`recovery`), and the queue consumer that ties it together
//! (`worker`).
//!
//! Every step is a public function returning an outcome, so tests and local
//! mode drive the engine step by step; Lambdas are thin wrappers.

pub mod dialer;
pub mod due_leads;
pub mod error;
pub mod finish;
pub mod pause;
pub mod recovery;
pub mod scheduler;
pub mod worker;

mod common;

pub use dialer::{dial, dial_with, DialOptions, DialOutcome};
pub use error::DialingError;
pub use finish::{finish_call, CallEnd, FinishOutcome};
pub use recovery::{reconcile, reconcile_with, RecoveryOptions, RecoveryOutcome};
pub use scheduler::{repairing_tick, tick, TickOutcome};
pub use worker::{handle_message, MessageOutcome};
