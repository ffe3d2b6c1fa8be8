//! The HTTP face of the dialer: one axum router for the REST API (served by
//! the `api` Lambda through lambda_http and by local mode), the Twilio
//! webhook routes, and local mode's WebSocket endpoint.

pub mod api;
pub mod auth;
pub mod error;
pub mod imports;
pub mod panic;
pub mod state;
pub mod twilio;
pub mod ws;
pub mod ws_fanout;

pub use error::ApiError;
pub use state::AppState;
