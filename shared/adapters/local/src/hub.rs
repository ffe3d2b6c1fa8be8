//! The local WebSocket fan-out: each open socket registers a channel here,
//! and services post to it by connection id just as they would through API
//! Gateway's management API. A connection may also be registered with its
//! owner, so local mode can pick an event's audience from memory
//! ([`LocalHub::broadcast`]) instead of reading the registry per event.
//!
//! Each connection's outbox is bounded ([`OUTBOX_CAPACITY`]): a client that
//! reads slower than events arrive is dropped (its socket closes, as API
//! Gateway drops a connection it cannot deliver to) instead of growing the
//! server's memory without limit.

use async_trait::async_trait;
use ibrat_domain::{Role, UserId};
use ibrat_ports::{ConnectionSender, PostError};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::{channel, Receiver, Sender};

/// Messages queued for one connection before it counts as too slow and is
/// dropped.
pub const OUTBOX_CAPACITY: usize = 256;

/// Who a connection belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub user_id: UserId,
    pub role: Role,
}

#[derive(Debug)]
struct Entry {
    tx: Sender<String>,
    owner: Option<Owner>,
}

/// Registry of live connections; share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct LocalHub {
    connections: Mutex<HashMap<String, Entry>>,
}

impl LocalHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a connection; the socket task forwards what arrives on the
    /// receiver and closes the socket when it ends. Registering an id again
    /// replaces (and so ends) the earlier channel.
    pub fn register(&self, connection_id: &str) -> Receiver<String> {
        self.insert(connection_id, None)
    }

    /// [`LocalHub::register`] for a connection of a known user, so that
    /// [`LocalHub::broadcast`] can reach it.
    pub fn register_owned(&self, connection_id: &str, owner: Owner) -> Receiver<String> {
        self.insert(connection_id, Some(owner))
    }

    fn insert(&self, connection_id: &str, owner: Option<Owner>) -> Receiver<String> {
        let (tx, rx) = channel(OUTBOX_CAPACITY);
        self.lock().insert(connection_id.to_owned(), Entry { tx, owner });
        rx
    }

    /// Forgets a connection, e.g. once its socket has closed.
    pub fn unregister(&self, connection_id: &str) {
        self.lock().remove(connection_id);
    }

    /// Whether a connection is registered and its receiver still alive.
    pub fn is_connected(&self, connection_id: &str) -> bool {
        self.lock().get(connection_id).is_some_and(|e| !e.tx.is_closed())
    }

    /// Number of registered connections.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no connection is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends `text` to every owned connection whose owner `to` accepts, in
    /// one pass under one lock (no registry read, no await); connections
    /// whose socket task has ended, or whose outbox is full, are forgotten
    /// (which closes a slow one's socket). Returns how many were sent.
    pub fn broadcast(&self, text: &str, mut to: impl FnMut(&Owner) -> bool) -> usize {
        let mut sent = 0;
        self.lock().retain(|_, entry| {
            let Some(owner) = &entry.owner else { return true };
            if !to(owner) {
                return true;
            }
            let alive = queue(&entry.tx, text.to_owned());
            sent += usize::from(alive);
            alive
        });
        sent
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // The map stays consistent across a panic elsewhere; keep using it.
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Queues `text` without waiting; false when the connection must be
/// dropped (its socket task ended, or it is [`OUTBOX_CAPACITY`] behind).
fn queue(tx: &Sender<String>, text: String) -> bool {
    match tx.try_send(text) {
        Ok(()) => true,
        Err(TrySendError::Closed(_)) => false,
        // Too slow to keep up: dropped (the socket task sees its channel end).
        Err(TrySendError::Full(_)) => false,
    }
}

#[async_trait]
impl ConnectionSender for LocalHub {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<(), PostError> {
        // WebSocket text frames must be UTF-8; refuse rather than mangle.
        let text = std::str::from_utf8(payload)
            .map_err(|e| PostError::Failed(format!("payload is not UTF-8: {e}")))?
            .to_owned();
        let mut connections = self.lock();
        let Some(entry) = connections.get(connection_id) else {
            return Err(PostError::Gone);
        };
        if !queue(&entry.tx, text) {
            // The socket task is gone or too slow; forget it as API Gateway would.
            connections.remove(connection_id);
            return Err(PostError::Gone);
        }
        Ok(())
    }

    async fn close(&self, connection_id: &str) {
        self.unregister(connection_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibrat_ports::conformance::connections::{self as suite, ConnectionHarness};
    use std::sync::Arc;

    /// Plays the socket side: holds each connection's receiver.
    struct Sockets {
        hub: Arc<LocalHub>,
        receivers: Mutex<HashMap<String, Receiver<String>>>,
        next: Mutex<u32>,
    }

    #[async_trait]
    impl ConnectionHarness for Sockets {
        async fn connect(&self) -> String {
            let id = {
                let mut next = self.next.lock().unwrap();
                *next += 1;
                format!("local-{next}")
            };
            let rx = self.hub.register(&id);
            self.receivers.lock().unwrap().insert(id.clone(), rx);
            id
        }

        async fn received(&self, connection_id: &str) -> Vec<u8> {
            let mut receivers = self.receivers.lock().unwrap();
            let rx = receivers.get_mut(connection_id).expect("connected by this harness");
            let mut out = Vec::new();
            while let Ok(msg) = rx.try_recv() {
                out.extend_from_slice(msg.as_bytes());
            }
            out
        }
    }

    #[tokio::test]
    async fn conformance() {
        let hub = Arc::new(LocalHub::new());
        let sockets = Sockets { hub: Arc::clone(&hub), receivers: Mutex::default(), next: Mutex::new(0) };
        suite::run_all(hub.as_ref(), &sockets).await;
    }

    #[tokio::test]
    async fn dropped_receiver_is_gone_and_forgotten() {
        let hub = LocalHub::new();
        drop(hub.register("c1"));
        assert!(!hub.is_connected("c1"));
        assert!(matches!(hub.post("c1", b"x").await, Err(PostError::Gone)));
        assert!(hub.is_empty());
    }

    #[tokio::test]
    async fn close_ends_the_receiver() {
        let hub = LocalHub::new();
        let mut rx = hub.register("c1");
        hub.post("c1", b"bye").await.unwrap();
        hub.close("c1").await;
        assert_eq!(rx.recv().await.as_deref(), Some("bye"));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn non_utf8_payload_fails_without_dropping_the_connection() {
        let hub = LocalHub::new();
        let _rx = hub.register("c1");
        assert!(matches!(hub.post("c1", &[0xff, 0xfe]).await, Err(PostError::Failed(_))));
        assert!(hub.is_connected("c1"));
    }

    #[tokio::test]
    async fn broadcast_reaches_chosen_owners_and_forgets_dead_ones() {
        let hub = LocalHub::new();
        let admin = Owner { user_id: UserId::new(), role: Role::Admin };
        let sp = Owner { user_id: UserId::new(), role: Role::Salesperson };
        let mut a = hub.register_owned("a", admin);
        let mut s = hub.register_owned("s", sp.clone());
        let mut anonymous = hub.register("x");
        drop(hub.register_owned("dead", sp));
        assert_eq!(hub.broadcast("all", |_| true), 2);
        assert_eq!(hub.broadcast("admins", |o| o.role == Role::Admin), 1);
        assert_eq!(a.recv().await.as_deref(), Some("all"));
        assert_eq!(a.recv().await.as_deref(), Some("admins"));
        assert_eq!(s.recv().await.as_deref(), Some("all"));
        assert!(s.try_recv().is_err());
        assert!(anonymous.try_recv().is_err(), "connections without an owner are reached by id only");
        assert!(!hub.is_connected("dead") && hub.len() == 3);
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_is_dropped_not_buffered() {
        let hub = LocalHub::new();
        let sp = Owner { user_id: UserId::new(), role: Role::Salesperson };
        let mut slow = hub.register_owned("slow", sp.clone());
        for i in 0..OUTBOX_CAPACITY {
            assert_eq!(hub.broadcast(&format!("e{i}"), |_| true), 1, "queued while there is room");
        }
        assert_eq!(hub.broadcast("one too many", |_| true), 0);
        assert!(!hub.is_connected("slow") && hub.is_empty(), "dropped, not grown");
        assert!(matches!(hub.post("slow", b"x").await, Err(PostError::Gone)));
        // What was queued still drains, then the channel ends (the socket closes).
        let mut drained = 0;
        while slow.recv().await.is_some() {
            drained += 1;
        }
        assert_eq!(drained, OUTBOX_CAPACITY);
        // Posting by id is bounded the same way.
        let _rx = hub.register("direct");
        for _ in 0..OUTBOX_CAPACITY {
            hub.post("direct", b"x").await.unwrap();
        }
        assert!(matches!(hub.post("direct", b"x").await, Err(PostError::Gone)));
        assert!(!hub.is_connected("direct"));
    }

    #[tokio::test]
    async fn re_registering_replaces_the_old_channel() {
        let hub = LocalHub::new();
        let mut old = hub.register("c1");
        let mut new = hub.register("c1");
        assert_eq!(old.recv().await, None);
        hub.post("c1", b"hi").await.unwrap();
        assert_eq!(new.recv().await.as_deref(), Some("hi"));
    }
}
