//! The presence sweep closes every connection it forgets through the
//! connection port (a forgotten socket left open keeps hearing events), and
//! leaves live connections alone.

mod dialing_common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;
use dialing_common::*;
use ibrat_domain::{Availability, Role, UserId};
use ibrat_ports::{ConnectionSender, PostError, Store};
use ibrat_services::dialing::scheduler::scheduled;
use ibrat_services::realtime::{connections, presence};
use ibrat_services::{repo, Deps};

/// Records each close, and whether the connection was still registered at
/// that moment.
struct RecordingSender {
    store: Arc<dyn Store>,
    closed: Mutex<Vec<(String, bool)>>,
}

impl RecordingSender {
    fn closed(&self) -> Vec<(String, bool)> {
        let mut closed = self.closed.lock().unwrap().clone();
        closed.sort();
        closed
    }
}

#[async_trait]
impl ConnectionSender for RecordingSender {
    async fn post(&self, _connection_id: &str, _payload: &[u8]) -> Result<(), PostError> {
        Ok(())
    }

    async fn close(&self, connection_id: &str) {
        let registered = connections::get(self.store.as_ref(), connection_id).await.expect("read").is_some();
        self.closed.lock().unwrap().push((connection_id.to_owned(), registered));
    }
}

struct World {
    h: Harness,
    deps: Deps,
    sender: Arc<RecordingSender>,
    /// Connected once, then silent.
    alone: UserId,
    /// One silent connection and one that keeps sending heartbeats.
    mixed: UserId,
}

/// Two available salespeople; after this, `alone-1` and `mixed-old` have
/// been silent longer than the presence timeout and `mixed-new` has not.
async fn world() -> World {
    let h = Harness::manual(tuesday_morning());
    h.settings(|_| {}).await;
    let sender = Arc::new(RecordingSender { store: h.store.clone(), closed: Mutex::default() });
    let deps = Deps { connections: sender.clone(), ..h.deps.clone() };
    let ids = h.salespeople(2).await;
    let (alone, mixed) = (ids[0].clone(), ids[1].clone());
    for (id, user) in [("alone-1", &alone), ("mixed-old", &mixed), ("mixed-new", &mixed)] {
        presence::on_connect(&deps, id, user, Role::Salesperson).await.expect("connects");
    }
    let timeout = Duration::from_std(deps.config.presence_timeout).expect("fits");
    h.advance(timeout / 2);
    presence::heartbeat(&deps, "mixed-new").await.expect("heartbeat").expect("known");
    h.advance(timeout / 2 + Duration::seconds(1));
    World { h, deps, sender, alone, mixed }
}

async fn availability(w: &World, user: &UserId) -> Availability {
    repo::users::get(w.h.store.as_ref(), user).await.expect("read").expect("user").user.availability
}

#[tokio::test]
async fn the_sweep_closes_the_silent_connections_it_forgets() {
    let w = world().await;
    let outcome = presence::sweep(&w.deps).await.expect("sweeps");
    assert_eq!((outcome.set_away, outcome.removed_connections), (1, 2));
    assert_eq!(
        w.sender.closed(),
        [("alone-1".to_owned(), false), ("mixed-old".to_owned(), false)],
        "each silent connection is closed once, after its record is gone"
    );
    let live = connections::get(w.h.store.as_ref(), "mixed-new").await.expect("read");
    assert!(live.is_some(), "the live connection is kept");
    assert_eq!(availability(&w, &w.alone).await, Availability::Away);
    assert_eq!(availability(&w, &w.mixed).await, Availability::Available);

    let again = presence::sweep(&w.deps).await.expect("sweeps");
    assert_eq!(again.removed_connections, 0);
    assert_eq!(w.sender.closed().len(), 2, "nothing more is closed");
}

#[tokio::test]
async fn the_scheduled_run_closes_silent_connections() {
    let w = world().await;
    let outcome = scheduled(&w.deps).await.expect("runs");
    assert_eq!(outcome.presence.map(|p| p.removed_connections), Some(2));
    let closed: Vec<_> = w.sender.closed().into_iter().map(|(id, _)| id).collect();
    assert_eq!(closed, ["alone-1", "mixed-old"]);
}
