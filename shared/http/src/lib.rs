//! The HTTP face of the dialer: one axum router for the REST API (served by
//! the `api` Lambda through lambda_http and by local mode), the web console
//! it serves at `/`, the Twilio webhook routes, and (feature `local-ws`, for
//! the local host only) local mode's WebSocket endpoint.

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod panic;
pub mod state;
pub mod twilio;
#[cfg(feature = "local-ws")]
pub mod ws;
#[cfg(feature = "local-ws")]
pub mod ws_fanout;

pub use error::ApiError;
pub use state::{AppState, ExportDelivery};
