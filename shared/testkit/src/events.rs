//! A publisher that keeps every event, in order, for assertions.

use std::sync::Mutex;

use async_trait::async_trait;
use ibrat_domain::{Event, EventKind};
use ibrat_ports::EventPublisher;

/// Records every published event.
#[derive(Default)]
pub struct RecordingEvents(Mutex<Vec<Event>>);

impl RecordingEvents {
    /// Every event so far.
    pub fn all(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// The kinds of every event so far.
    pub fn kinds(&self) -> Vec<EventKind> {
        self.lock().iter().map(|e| e.kind.clone()).collect()
    }

    /// The wire type names (`call_completed`, ...) of every event so far.
    pub fn types(&self) -> Vec<&'static str> {
        self.lock().iter().map(|e| e.type_name()).collect()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventPublisher for RecordingEvents {
    async fn publish(&self, event: Event) {
        self.lock().push(event);
    }
}
