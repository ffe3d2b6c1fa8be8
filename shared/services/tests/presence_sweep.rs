//! The presence sweep closes every connection it forgets through the
//! connection port (a forgotten socket left open keeps hearing events), and
//! leaves live connections alone.

use chrono::Duration;
use ibrat_domain::{Availability, Role, UserId};
use ibrat_services::dialing::scheduler::scheduled;
use ibrat_services::realtime::{connections, presence};
use ibrat_services::repo;
use ibrat_testkit::{salesperson, TestDeps};

/// The kit's system; its connection sender records each close, and whether
/// the connection was still registered at that moment.
struct World {
    kit: TestDeps,
    /// Connected once, then silent.
    alone: UserId,
    /// One silent connection and one that keeps sending heartbeats.
    mixed: UserId,
}

/// Two available salespeople; after this, `alone-1` and `mixed-old` have
/// been silent longer than the presence timeout and `mixed-new` has not.
async fn world() -> World {
    let kit = TestDeps::builder().record_connections().build();
    kit.settings(|_| {}).await;
    let deps = &kit.deps;
    let alone = salesperson(0, kit.now() - Duration::seconds(100)).store(kit.store.as_ref()).await.id;
    let mixed = salesperson(1, kit.now() - Duration::seconds(99)).store(kit.store.as_ref()).await.id;
    for (id, user) in [("alone-1", &alone), ("mixed-old", &mixed), ("mixed-new", &mixed)] {
        presence::on_connect(deps, id, user, Role::Salesperson).await.expect("connects");
    }
    let timeout = Duration::from_std(deps.config.presence_timeout).expect("fits");
    kit.clock.advance(timeout / 2);
    presence::heartbeat(deps, "mixed-new").await.expect("heartbeat").expect("known");
    kit.clock.advance(timeout / 2 + Duration::seconds(1));
    World { kit, alone, mixed }
}

async fn availability(w: &World, user: &UserId) -> Availability {
    repo::users::get(w.kit.store.as_ref(), user).await.expect("read").expect("user").user.availability
}

#[tokio::test]
async fn the_sweep_closes_the_silent_connections_it_forgets() {
    let w = world().await;
    let outcome = presence::sweep(&w.kit.deps).await.expect("sweeps");
    assert_eq!((outcome.set_away, outcome.removed_connections), (1, 2));
    assert_eq!(
        sorted(w.kit.connections.closed_registered()),
        [("alone-1".to_owned(), false), ("mixed-old".to_owned(), false)],
        "each silent connection is closed once, after its record is gone"
    );
    let live = connections::get(w.kit.store.as_ref(), "mixed-new").await.expect("read");
    assert!(live.is_some(), "the live connection is kept");
    assert_eq!(availability(&w, &w.alone).await, Availability::Away);
    assert_eq!(availability(&w, &w.mixed).await, Availability::Available);

    let again = presence::sweep(&w.kit.deps).await.expect("sweeps");
    assert_eq!(again.removed_connections, 0);
    assert_eq!(sorted(w.kit.connections.closed_registered()).len(), 2, "nothing more is closed");
}

#[tokio::test]
async fn the_scheduled_run_closes_silent_connections() {
    let w = world().await;
    let outcome = scheduled(&w.kit.deps).await.expect("runs");
    assert_eq!(outcome.presence.map(|p| p.removed_connections), Some(2));
    let closed: Vec<_> = sorted(w.kit.connections.closed_registered()).into_iter().map(|(id, _)| id).collect();
    assert_eq!(closed, ["alone-1", "mixed-old"]);
}

fn sorted(mut closed: Vec<(String, bool)>) -> Vec<(String, bool)> {
    closed.sort();
    closed
}
