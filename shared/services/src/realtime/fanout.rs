//! Event fan-out: the [`EventPublisher`] every function uses. It finds the
//! event's audience in the connection registry and posts to each connection
//! in parallel; a connection that is gone is forgotten.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use ibrat_domain::{Audience, Event, Role};
use ibrat_ports::{ConnectionSender, EventPublisher, PostError, Store, StoreError};

use super::connections::{self, Connection};

/// Posts in flight at once per event.
const PARALLEL_POSTS: usize = 64;

/// Publishes events to the connections allowed to see them.
pub struct Fanout {
    store: Arc<dyn Store>,
    sender: Arc<dyn ConnectionSender>,
}

impl Fanout {
    /// A publisher over the registry in `store`, delivering through `sender`.
    pub fn new(store: Arc<dyn Store>, sender: Arc<dyn ConnectionSender>) -> Self {
        Fanout { store, sender }
    }

    /// The connections that may receive `event`: admins always; a
    /// salesperson only for their own events and the queue statistics.
    pub async fn audience(&self, event: &Event) -> Result<Vec<Connection>, StoreError> {
        let store = self.store.as_ref();
        let mut out = connections::by_role(store, Role::Admin).await?;
        match event.audience() {
            Audience::Admins => {}
            Audience::AdminsAnd(user) => {
                out.extend(connections::by_user(store, &user).await?.into_iter().filter(|c| c.role != Role::Admin))
            }
            Audience::Everyone => out.extend(connections::by_role(store, Role::Salesperson).await?),
        }
        Ok(out)
    }

    /// Delivers one event; returns how many connections received it.
    pub async fn deliver(&self, event: &Event) -> Result<usize, StoreError> {
        let targets = self.audience(event).await?;
        let payload = event.to_json().into_bytes();
        let payload = &payload;
        let results: Vec<bool> = stream::iter(targets)
            .map(|conn| async move {
                match self.sender.post(&conn.id, payload).await {
                    Ok(()) => true,
                    Err(PostError::Gone) => {
                        if let Err(e) = connections::remove(self.store.as_ref(), &conn.id).await {
                            tracing::warn!(connection_id = %conn.id, error = %e, "could not forget a gone connection");
                        }
                        false
                    }
                    Err(PostError::Failed(e)) => {
                        tracing::warn!(connection_id = %conn.id, error = %e, "post to connection failed");
                        false
                    }
                }
            })
            .buffer_unordered(PARALLEL_POSTS)
            .collect()
            .await;
        Ok(results.into_iter().filter(|delivered| *delivered).count())
    }
}

#[async_trait]
impl EventPublisher for Fanout {
    async fn publish(&self, event: Event) {
        if let Err(e) = self.deliver(&event).await {
            tracing::warn!(event = event.type_name(), error = %e, "event fan-out failed");
        }
    }
}
