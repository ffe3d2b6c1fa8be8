//! A simulated salesperson, using the real client APIs: signs in over REST,
//! connects to `/ws?token=`, starts an agent session (the simulator answers
//! its phone and holds it in its room, where it is ready), keeps pinging,
//! and records a disposition after each of its calls ends. Reconnects (with a
//! fresh sign-in) whenever the socket drops, until the system stops.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::client::ApiClient;
use crate::system::stopped;

/// How often the agent pings (well inside the presence timeout).
const PING_EVERY: Duration = Duration::from_secs(20);
/// Pause before reconnecting after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// Who the agent is and where it connects.
#[derive(Debug, Clone)]
pub struct Agent {
    pub base_url: String,
    pub ws_url: String,
    pub email: String,
    pub password: String,
}

impl Agent {
    /// Works until `stopping` turns true.
    pub async fn run(self, mut stopping: watch::Receiver<bool>) {
        loop {
            let watcher = stopping.clone();
            let session = tokio::select! {
                _ = stopped(&mut stopping) => return,
                r = self.session(watcher) => r,
            };
            match session {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(agent = %self.email, error = %e, "demo salesperson disconnected; reconnecting")
                }
            }
            tokio::select! {
                _ = stopped(&mut stopping) => return,
                _ = tokio::time::sleep(RECONNECT_AFTER) => {}
            }
        }
    }

    /// One connection: returns Ok when stopping, Err when the socket failed.
    async fn session(&self, mut stopping: watch::Receiver<bool>) -> Result<(), String> {
        let client = ApiClient::login(&self.base_url, &self.email, &self.password).await.map_err(|e| e.to_string())?;
        let me = client.get::<Value>("/api/auth/profile").await.map_err(|e| e.to_string())?["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or("the profile has no id")?;
        let url = format!("{}?token={}", self.ws_url, client.token());
        let (socket, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
        let (mut tx, mut rx) = socket.split();
        let send = |v: Value| Message::text(v.to_string());
        tx.send(send(json!({ "action": "start_session" }))).await.map_err(|e| e.to_string())?;
        tracing::info!(agent = %self.email, "demo salesperson online");
        let mut pings = tokio::time::interval(PING_EVERY);
        loop {
            tokio::select! {
                _ = stopped(&mut stopping) => {
                    let _ = tx.send(Message::Close(None)).await;
                    return Ok(());
                }
                _ = pings.tick() => {
                    tx.send(send(json!({ "action": "ping" }))).await.map_err(|e| e.to_string())?;
                }
                incoming = rx.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(t))) => t.to_string(),
                        Some(Ok(Message::Close(_))) | None => return Err("the server closed the socket".into()),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(e.to_string()),
                    };
                    if let Some(reply) = react(&me, &text) {
                        tx.send(send(reply)).await.map_err(|e| e.to_string())?;
                    }
                }
            }
        }
    }
}

/// The message to send in answer to an event, if any: a disposition once
/// one of my calls has ended, and a new session when my line ended (as a
/// person would call back in).
fn react(me: &str, text: &str) -> Option<Value> {
    let event: Value = serde_json::from_str(text).ok()?;
    match event["type"].as_str()? {
        "session_updated" if event["user_id"].as_str() == Some(me) && event["line"] == "ended" => {
            Some(json!({ "action": "start_session" }))
        }
        "call_completed" if event["salesperson_id"].as_str() == Some(me) => {
            let outcome = if rand::thread_rng().gen_bool(0.4) { "interested" } else { "not_interested" };
            Some(json!({
                "action": "disposition",
                "call_id": event["call_id"],
                "outcome": outcome,
                "notes": "demo",
            }))
        }
        "error" => {
            tracing::debug!(message = %event["error"]["message"], "the server refused a demo message");
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_my_completed_calls_get_a_disposition() {
        let mine = r#"{"type":"call_completed","call_id":"c1","salesperson_id":"me"}"#;
        let reply = react("me", mine).expect("a disposition");
        assert_eq!(reply["action"], "disposition");
        assert_eq!(reply["call_id"], "c1");
        assert!(react("me", r#"{"type":"call_completed","call_id":"c2","salesperson_id":"other"}"#).is_none());
        assert!(react("me", r#"{"type":"call_ringing","call_id":"c3"}"#).is_none());
        assert!(react("me", "not json").is_none());
    }

    #[test]
    fn a_lost_line_is_called_back_in() {
        let ended = r#"{"type":"session_updated","user_id":"me","line":"ended","ended_reason":"line_lost"}"#;
        assert_eq!(react("me", ended).expect("a reply")["action"], "start_session");
        assert!(react("me", r#"{"type":"session_updated","user_id":"other","line":"ended"}"#).is_none());
        assert!(react("me", r#"{"type":"session_updated","user_id":"me","line":"up"}"#).is_none());
    }
}
