//! The `ws` Lambda's handler: API Gateway's WebSocket API routes every
//! connection event here, and it is routed by `requestContext.routeKey`:
//!
//! - `$connect`: authenticates the access token in the `token` query
//!   parameter and records the connection; a bad or missing token is
//!   refused with 401 and nothing is stored.
//! - `$disconnect`: forgets the connection (the user goes offline when it
//!   was their last).
//! - `$default`: a client message (`docs/EVENTS.md`); the acknowledgement
//!   or error is posted back to the connection through the management API.
//!
//! The protocol itself is `ibrat_services::realtime::session`, shared with
//! local mode's `/ws` endpoint.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use base64::Engine;
use ibrat_ports::ConnectionSender;
use ibrat_services::realtime::session::{self, ConnectError};
use ibrat_services::Deps;
use serde_json::json;

/// Handles one WebSocket event. Never fails: every outcome is a response
/// (API Gateway refuses a `$connect` on any non-2xx status).
pub async fn handle(
    deps: &Deps,
    sender: &dyn ConnectionSender,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let ctx = &event.request_context;
    let Some(connection_id) = ctx.connection_id.as_deref().filter(|id| !id.is_empty()) else {
        return response(400, "bad_request", "the event has no connection id");
    };
    let span = tracing::info_span!("ws", connection_id, route = ctx.route_key.as_deref().unwrap_or(""));
    let _entered = span.enter();
    match ctx.route_key.as_deref() {
        Some("$connect") => {
            let token = event.query_string_parameters.first("token");
            match session::connect(deps, connection_id, token).await {
                Ok(_) => ok(),
                Err(e) => connect_refused(&e),
            }
        }
        Some("$disconnect") => match session::close(deps, connection_id).await {
            Ok(_) => ok(),
            Err(e) => {
                // The TTL forgets the connection within two hours anyway.
                tracing::warn!(error = %e, "could not forget a disconnected websocket connection");
                response(500, "internal", "could not record the disconnect")
            }
        },
        // Custom route keys are not configured; treat them as messages.
        Some(_) => {
            let text = message_text(&event);
            session::answer(deps, sender, connection_id, &text).await;
            ok()
        }
        None => response(400, "bad_request", "the event has no route key"),
    }
}

/// The message as text; a body that is not UTF-8 becomes text that fails
/// to parse, so the client is told rather than ignored.
fn message_text(event: &ApiGatewayWebsocketProxyRequest) -> String {
    let body = event.body.as_deref().unwrap_or_default();
    if !event.is_base64_encoded {
        return body.to_owned();
    }
    match base64::engine::general_purpose::STANDARD.decode(body) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

/// 401 for a refused token; 503/500 when the table failed (the client
/// retries the connect).
fn connect_refused(e: &ConnectError) -> ApiGatewayProxyResponse {
    match e {
        ConnectError::MissingToken | ConnectError::Refused(_) => {
            tracing::info!(error = %e, "websocket connect refused");
            response(401, "unauthorized", "connect with a valid access token: ?token=<access token>")
        }
        ConnectError::Store(s) if s.is_retryable() => {
            tracing::warn!(error = %e, "websocket connect failed");
            response(503, "unavailable", "try again shortly")
        }
        ConnectError::Store(_) => {
            tracing::error!(error = %e, "websocket connect failed");
            response(500, "internal", "something went wrong on our side")
        }
    }
}

fn ok() -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = 200;
    r
}

fn response(status: i64, code: &str, message: &str) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.body = Some(Body::Text(json!({ "error": { "code": code, "message": message } }).to_string()));
    r
}
