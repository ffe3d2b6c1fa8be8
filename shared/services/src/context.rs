//! The ports a service needs, built once per process and shared.

use std::sync::Arc;

use ibrat_ports::{BlobStore, Clock, ConnectionSender, EventPublisher, Queue, Store, Telephony};

use crate::config::Config;

/// Every outside system, behind its port. Each Lambda builds this once in
/// `main` (AWS adapters); local mode builds it once with local adapters.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub events: Arc<dyn EventPublisher>,
    /// The client sockets themselves, so a connection the server forgets
    /// (the presence sweep) is also closed rather than left open and still
    /// hearing events.
    pub connections: Arc<dyn ConnectionSender>,
    pub telephony: Arc<dyn Telephony>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
}

impl Deps {
    /// Publishes an event now (best effort; see [`EventPublisher`]).
    pub async fn emit(&self, kind: ibrat_domain::EventKind) {
        self.events.publish(ibrat_domain::Event::new(kind, self.clock.now())).await;
    }
}
