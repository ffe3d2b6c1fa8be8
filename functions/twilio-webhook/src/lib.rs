//! The twilio-webhook Lambda's application, separate from `main` so tests
//! drive it with real Lambda function URL events over local adapters.
//!
//! A function URL delivers API Gateway v2-shaped events; `lambda_http` turns
//! them into HTTP requests (decoding the base64 form body) and the same
//! axum router local mode serves answers them.

use axum::Router;
use ibrat_http::AppState;
use ibrat_services::Deps;

/// The Twilio webhook routes over `deps`, ready to serve.
pub fn app(deps: Deps) -> Router {
    ibrat_http::twilio::router().with_state(AppState::new(deps))
}
