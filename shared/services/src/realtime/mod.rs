//! Real time: who is connected, what they may see, and what they may say.
//!
//! The connection registry lives in the table (so every Lambda, and local
//! mode, fans out from the same truth); delivery goes through the
//! [`ibrat_ports::ConnectionSender`] port (API Gateway's management API on
//! AWS, open sockets locally).

pub mod client;
pub use crate::repo::connections;
pub mod fanout;
pub mod presence;
pub mod queue_stats;
pub mod session;

pub use connections::Connection;
pub use fanout::Fanout;
