//! Event fan-out: the [`EventPublisher`] every function uses. It finds the
//! event's audience in the connection registry and posts to each connection
//! in parallel; a connection that is gone is forgotten (unless it was opened
//! moments ago: API Gateway refuses posts until `$connect` completes).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use futures::stream::{self, StreamExt};
use ibrat_domain::{Audience, Event, Role, UserId};
use ibrat_ports::{Clock, ConnectionSender, EventPublisher, PostError, Store, StoreError, SystemClock};

use super::connections::{self, Connection};

/// Posts in flight at once per event.
const PARALLEL_POSTS: usize = 64;

/// A connection younger than this is kept when a post to it is gone: its
/// `$connect` handshake may still be completing.
pub const GONE_GRACE: Duration = Duration::seconds(10);

/// The audience rule, shared by every fan-out path: admins receive
/// everything; anyone else receives events about themselves (their calls,
/// leads, presence and availability) and events for everyone (queue
/// statistics), never another salesperson's.
pub fn may_receive(audience: &Audience, user_id: &UserId, role: Role) -> bool {
    role == Role::Admin
        || match audience {
            Audience::Admins => false,
            Audience::AdminsAnd(owner) => owner == user_id,
            Audience::Everyone => true,
        }
}

/// Publishes events to the connections allowed to see them.
pub struct Fanout {
    store: Arc<dyn Store>,
    sender: Arc<dyn ConnectionSender>,
    clock: Arc<dyn Clock>,
}

impl Fanout {
    /// A publisher over the registry in `store`, delivering through `sender`.
    pub fn new(store: Arc<dyn Store>, sender: Arc<dyn ConnectionSender>) -> Self {
        Fanout { store, sender, clock: Arc::new(SystemClock) }
    }

    /// The same publisher judging connection ages by `clock` (the one the
    /// registry's timestamps come from; tests pass their manual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The connections that may receive `event` (see [`may_receive`]): the
    /// candidates are read from the registry by role and by user, then
    /// filtered by the one rule.
    pub async fn audience(&self, event: &Event) -> Result<Vec<Connection>, StoreError> {
        let store = self.store.as_ref();
        let audience = event.audience();
        let mut out = connections::by_role(store, Role::Admin).await?;
        match &audience {
            Audience::Admins => {}
            Audience::AdminsAnd(user) => out.extend(connections::by_user(store, user).await?),
            Audience::Everyone => out.extend(connections::by_role(store, Role::Salesperson).await?),
        }
        let mut seen = HashSet::new();
        out.retain(|c| may_receive(&audience, &c.user_id, c.role) && seen.insert(c.id.clone()));
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
                        let cutoff = self.clock.now() - GONE_GRACE;
                        let store = self.store.as_ref();
                        if let Err(e) = connections::remove_if_opened_before(store, &conn.id, cutoff).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_see_everything_and_salespeople_only_their_own() {
        let (me, other) = (UserId::new(), UserId::new());
        let mine = Audience::AdminsAnd(me.clone());
        assert!(may_receive(&Audience::Admins, &other, Role::Admin));
        assert!(may_receive(&mine, &other, Role::Admin));
        assert!(!may_receive(&Audience::Admins, &me, Role::Salesperson));
        assert!(may_receive(&mine, &me, Role::Salesperson));
        assert!(!may_receive(&mine, &other, Role::Salesperson));
        assert!(may_receive(&Audience::Everyone, &other, Role::Salesperson));
    }
}
