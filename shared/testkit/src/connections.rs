//! A connection sender (API Gateway's management API, or the local hub)
//! that records every post and close; connections marked gone answer 410.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use ibrat_ports::{ConnectionSender, PostError, Store};
use ibrat_services::realtime::connections;
use serde_json::Value;

/// Records posts (as JSON) and closes, and whether the closed connection
/// was still registered in the store at that moment.
pub struct RecordingConnections {
    store: Arc<dyn Store>,
    posts: Mutex<Vec<(String, Value)>>,
    closed: Mutex<Vec<(String, bool)>>,
    gone: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RecordingConnections {
    /// Checks registrations in `store` when a connection is closed.
    pub fn new(store: Arc<dyn Store>) -> Self {
        RecordingConnections { store, posts: Mutex::default(), closed: Mutex::default(), gone: Mutex::default() }
    }

    /// Posts to `connection_id` answer `Gone` from now on.
    pub fn set_gone(&self, connection_id: &str) {
        lock(&self.gone).insert(connection_id.to_owned());
    }

    /// Every post so far, in order: (connection id, payload).
    pub fn posts(&self) -> Vec<(String, Value)> {
        lock(&self.posts).clone()
    }

    /// The payloads posted to one connection, in order.
    pub fn posted_to(&self, connection_id: &str) -> Vec<Value> {
        lock(&self.posts).iter().filter(|(id, _)| id == connection_id).map(|(_, v)| v.clone()).collect()
    }

    /// The connections closed so far, in order.
    pub fn closed(&self) -> Vec<String> {
        lock(&self.closed).iter().map(|(id, _)| id.clone()).collect()
    }

    /// The connections closed so far, in order, each with whether it was
    /// still registered when it was closed.
    pub fn closed_registered(&self) -> Vec<(String, bool)> {
        lock(&self.closed).clone()
    }
}

#[async_trait]
impl ConnectionSender for RecordingConnections {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<(), PostError> {
        if lock(&self.gone).contains(connection_id) {
            return Err(PostError::Gone);
        }
        let v = serde_json::from_slice(payload).map_err(|e| PostError::Failed(e.to_string()))?;
        lock(&self.posts).push((connection_id.to_owned(), v));
        Ok(())
    }

    async fn close(&self, connection_id: &str) {
        let registered = connections::get(self.store.as_ref(), connection_id).await.expect("read").is_some();
        lock(&self.closed).push((connection_id.to_owned(), registered));
    }
}
