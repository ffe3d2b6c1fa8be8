//! Local mode's [`EventPublisher`]: the twin of
//! [`ibrat_services::realtime::Fanout`] for one process. Every socket of
//! `/ws` is registered in the [`LocalHub`] with its owner, so the audience
//! is picked from memory by the same rule
//! ([`ibrat_services::realtime::fanout::may_receive`]) instead of reading
//! the connection registry for every event; the registry is still written
//! (presence and the sweep read it). On AWS, where connections live in other
//! processes, use `Fanout`.

use std::sync::Arc;

use async_trait::async_trait;
use ibrat_domain::Event;
use ibrat_local::LocalHub;
use ibrat_ports::EventPublisher;
use ibrat_services::realtime::fanout::may_receive;

/// Publishes events to the hub's sockets allowed to see them.
pub struct HubFanout {
    hub: Arc<LocalHub>,
}

impl HubFanout {
    /// A publisher over the hub `/ws` registers its sockets in (pass the
    /// same hub to [`crate::ws::router`]).
    pub fn new(hub: Arc<LocalHub>) -> Self {
        HubFanout { hub }
    }

    /// Delivers one event; returns how many sockets it was queued for.
    pub fn deliver(&self, event: &Event) -> usize {
        let audience = event.audience();
        self.hub.broadcast(&event.to_json(), |owner| may_receive(&audience, &owner.user_id, owner.role))
    }
}

#[async_trait]
impl EventPublisher for HubFanout {
    async fn publish(&self, event: Event) {
        self.deliver(&event);
    }
}
