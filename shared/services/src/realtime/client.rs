//! Messages from clients over the WebSocket (`$default` on AWS, `/ws`
//! locally): `ping`, `set_availability`, `disposition`, and the agent
//! session's `start_session`, `end_session` and `hangup`. Every message gets
//! exactly one JSON reply, an acknowledgement or an error; nothing a client
//! sends can crash the handler.

use chrono::{DateTime, Utc};
use ibrat_domain::bounds::Instant;
use ibrat_domain::{Availability, CallId, Disposition};
use serde::Deserialize;
use serde_json::{json, Value};

use super::presence;
use crate::auth::Actor;
use crate::context::Deps;
use crate::sessions;

/// The largest client message accepted.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The error code for a message from a connection the registry does not
/// know (swept as silent, or never registered): the client must reconnect.
pub const UNKNOWN_CONNECTION: &str = "unknown_connection";
/// Error code when the connection's user lost the rights it was opened with
/// (deactivated, role changed, password changed); the server then closes it.
pub const SESSION_REVOKED: &str = "session_revoked";

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Ping {
        #[serde(default)]
        request_id: Option<String>,
    },
    SetAvailability {
        availability: String,
        #[serde(default)]
        request_id: Option<String>,
    },
    StartSession {
        #[serde(default)]
        request_id: Option<String>,
    },
    EndSession {
        #[serde(default)]
        request_id: Option<String>,
    },
    Hangup {
        #[serde(default)]
        request_id: Option<String>,
    },
    Disposition {
        call_id: String,
        outcome: String,
        #[serde(default)]
        callback_at: Option<Instant>,
        #[serde(default)]
        notes: Option<String>,
        #[serde(default)]
        request_id: Option<String>,
    },
}

/// The reply to send back on the same connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientReply(pub Value);

impl ClientReply {
    fn ack(action: &str, request_id: Option<String>, extra: Value) -> Self {
        let mut v = json!({ "type": "ack", "action": action, "request_id": request_id });
        if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        ClientReply(v)
    }

    fn error(request_id: Option<String>, code: &str, message: impl Into<String>) -> Self {
        ClientReply(json!({
            "type": "error",
            "request_id": request_id,
            "error": { "code": code, "message": message.into() },
        }))
    }

    /// The JSON text.
    pub fn to_text(&self) -> String {
        self.0.to_string()
    }

    /// True for an error reply.
    pub fn is_error(&self) -> bool {
        self.0["type"] == "error"
    }

    /// The error code of an error reply.
    pub fn code(&self) -> Option<&str> {
        self.0["error"]["code"].as_str()
    }
}

/// Parses the disposition fields into the domain type.
fn parse_disposition(outcome: &str, callback_at: Option<DateTime<Utc>>) -> Result<Disposition, String> {
    Ok(match outcome {
        "interested" => Disposition::Interested,
        "not_interested" => Disposition::NotInterested,
        "wrong_number" => Disposition::WrongNumber,
        "do_not_call" => Disposition::DoNotCall,
        "call_back" => {
            Disposition::CallBack { at: callback_at.ok_or("call_back needs callback_at (an RFC 3339 time)")? }
        }
        other => {
            return Err(format!(
                "unknown outcome `{other}`; use interested, not_interested, call_back, wrong_number or do_not_call"
            ))
        }
    })
}

/// Handles one text message from `connection_id`.
pub async fn handle_client_message(deps: &Deps, connection_id: &str, text: &str) -> ClientReply {
    if text.len() > MAX_MESSAGE_BYTES {
        return ClientReply::error(
            None,
            "message_too_large",
            format!("messages are limited to {MAX_MESSAGE_BYTES} bytes"),
        );
    }
    let message: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return ClientReply::error(None, "bad_message", format!("could not read the message: {e}")),
    };
    // Every message is also a heartbeat, and proves the connection is known.
    let conn = match presence::heartbeat(deps, connection_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return ClientReply::error(None, UNKNOWN_CONNECTION, "this connection is not registered; reconnect")
        }
        Err(e) => {
            tracing::warn!(connection_id, error = %e, "heartbeat failed");
            return ClientReply::error(None, "unavailable", "try again shortly");
        }
    };
    // The rights the connection was opened with may be gone since.
    match super::revoke::entitled(deps, &conn).await {
        Ok(true) => {}
        Ok(false) => return ClientReply::error(None, SESSION_REVOKED, "your access has changed; sign in again"),
        Err(e) => {
            tracing::warn!(connection_id, error = %e, "could not re-check the connection's user");
            return ClientReply::error(None, "unavailable", "try again shortly");
        }
    }
    match message {
        ClientMessage::Ping { request_id } => ClientReply::ack("ping", request_id, json!({ "ts": deps.clock.now() })),
        ClientMessage::SetAvailability { availability, request_id } => {
            let Some(a) = Availability::parse(&availability).filter(|a| a.is_self_selectable()) else {
                return ClientReply::error(request_id, "validation_failed", "availability must be available or away");
            };
            match crate::users::set_availability_for_client(deps, &conn.user_id, conn.role, a).await {
                Ok(()) => ClientReply::ack("set_availability", request_id, json!({ "availability": a })),
                Err((code, message)) => ClientReply::error(request_id, code, message),
            }
        }
        ClientMessage::StartSession { request_id } => {
            let actor = Actor { id: conn.user_id.clone(), role: conn.role };
            match sessions::start(deps, &actor).await {
                Ok(s) => ClientReply::ack("start_session", request_id, json!({ "session": s })),
                Err(e) => ClientReply::error(request_id, sessions::error_code(&e), e.to_string()),
            }
        }
        ClientMessage::EndSession { request_id } => {
            let actor = Actor { id: conn.user_id.clone(), role: conn.role };
            match sessions::end(deps, &actor).await {
                Ok(s) => ClientReply::ack("end_session", request_id, json!({ "session": s })),
                Err(e) => ClientReply::error(request_id, sessions::error_code(&e), e.to_string()),
            }
        }
        ClientMessage::Hangup { request_id } => {
            let actor = Actor { id: conn.user_id.clone(), role: conn.role };
            match sessions::hangup(deps, &actor).await {
                Ok(call_id) => {
                    let session = sessions::view(deps, &conn.user_id).await.ok().flatten();
                    ClientReply::ack("hangup", request_id, json!({ "call_id": call_id, "session": session }))
                }
                Err(e) => ClientReply::error(request_id, sessions::error_code(&e), e.to_string()),
            }
        }
        ClientMessage::Disposition { call_id, outcome, callback_at, notes, request_id } => {
            let Ok(call_id) = CallId::parse(&call_id) else {
                return ClientReply::error(request_id, "validation_failed", "call_id is not a call id");
            };
            let disposition = match parse_disposition(&outcome, callback_at.map(Instant::get)) {
                Ok(d) => d,
                Err(message) => return ClientReply::error(request_id, "validation_failed", message),
            };
            match crate::calls::record_disposition_for_client(
                deps,
                &conn.user_id,
                conn.role,
                &call_id,
                disposition,
                notes,
            )
            .await
            {
                Ok(()) => ClientReply::ack("disposition", request_id, json!({ "call_id": call_id })),
                Err((code, message)) => ClientReply::error(request_id, code, message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_parse_or_explain() {
        assert_eq!(parse_disposition("interested", None), Ok(Disposition::Interested));
        assert!(parse_disposition("call_back", None).unwrap_err().contains("callback_at"));
        assert!(parse_disposition("maybe", None).unwrap_err().contains("unknown outcome"));
        let at = Utc::now();
        assert_eq!(parse_disposition("call_back", Some(at)), Ok(Disposition::CallBack { at }));
    }

    #[test]
    fn replies_have_the_documented_shape() {
        let e = ClientReply::error(Some("r1".into()), "bad_message", "nope");
        assert!(e.is_error());
        assert_eq!(e.0["error"]["code"], "bad_message");
        let a = ClientReply::ack("ping", None, json!({ "ts": 1 }));
        assert_eq!(a.0["type"], "ack");
        assert_eq!(a.0["ts"], 1);
    }
}
