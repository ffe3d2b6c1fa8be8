//! Where services send the events clients see live.

use async_trait::async_trait;
use ibrat_domain::Event;

/// Publishes events to whoever should see them. Delivery is best effort: a
/// client that misses an event re-reads state through the API, so a failed
/// publish is logged by the adapter and never fails the business operation.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Sends one event to its audience.
    async fn publish(&self, event: Event);
}

/// A publisher that drops everything, for functions with no audience.
pub struct NullPublisher;

#[async_trait]
impl EventPublisher for NullPublisher {
    async fn publish(&self, _event: Event) {}
}
