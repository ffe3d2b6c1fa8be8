//! Presence: a salesperson is only routed calls while a connection of theirs
//! is alive. Losing the last connection, or going silent for longer than
//! the configured timeout, makes an available salesperson away.

use chrono::Duration;
use ibrat_domain::{Availability, EventKind, Role, UserId};
use ibrat_ports::StoreError;

use super::connections::{self, Connection};
use crate::context::Deps;
use crate::repo::{keys, users};

/// What a presence sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Salespeople made away because nobody was listening.
    pub set_away: usize,
    /// Silent connections forgotten and closed.
    pub removed_connections: usize,
    /// Connections closed because their user lost the rights they were
    /// opened with (see [`super::revoke`]).
    pub revoked_connections: usize,
}

/// Records a new authenticated connection and announces the user online when
/// it is their first.
pub async fn on_connect(
    deps: &Deps,
    connection_id: &str,
    user_id: &UserId,
    role: Role,
) -> Result<Connection, StoreError> {
    let now = deps.clock.now();
    let conn =
        Connection { id: connection_id.to_owned(), user_id: user_id.clone(), role, connected_at: now, last_seen: now };
    connections::register(deps.store.as_ref(), &conn).await?;
    let others = live_connections(deps, user_id).await?.into_iter().filter(|c| c.id != conn.id).count();
    if others == 0 {
        deps.emit(EventKind::UserPresence { user_id: user_id.clone(), online: true }).await;
    }
    Ok(conn)
}

/// Forgets a connection; when it was the user's last, announces them offline
/// and stops routing calls to them.
pub async fn on_disconnect(deps: &Deps, connection_id: &str) -> Result<Option<Connection>, StoreError> {
    let Some(conn) = connections::remove(deps.store.as_ref(), connection_id).await? else {
        return Ok(None);
    };
    if live_connections(deps, &conn.user_id).await?.is_empty() {
        deps.emit(EventKind::UserPresence { user_id: conn.user_id.clone(), online: false }).await;
        make_away_if_available(deps, &conn.user_id).await?;
    }
    Ok(Some(conn))
}

/// A heartbeat: the connection is alive now. None when it is unknown.
pub async fn heartbeat(deps: &Deps, connection_id: &str) -> Result<Option<Connection>, StoreError> {
    connections::touch(deps.store.as_ref(), connection_id, deps.clock.now()).await
}

/// The user's connections heard from within the presence timeout.
pub async fn live_connections(deps: &Deps, user_id: &UserId) -> Result<Vec<Connection>, StoreError> {
    let cutoff = deps.clock.now() - timeout(deps);
    Ok(connections::by_user(deps.store.as_ref(), user_id)
        .await?
        .into_iter()
        .filter(|c| c.last_seen >= cutoff)
        .collect())
}

fn timeout(deps: &Deps) -> Duration {
    Duration::from_std(deps.config.presence_timeout).unwrap_or(Duration::seconds(90))
}

/// Moves an available salesperson to away, only if they are still available
/// (a call that has just claimed them is never disturbed).
async fn make_away_if_available(deps: &Deps, user_id: &UserId) -> Result<bool, StoreError> {
    let Some(rec) = users::get(deps.store.as_ref(), user_id).await? else {
        return Ok(false);
    };
    if rec.user.role != Role::Salesperson || rec.user.availability != Availability::Available {
        return Ok(false);
    }
    let now = deps.clock.now();
    let update = users::availability_update(user_id, Availability::Away, now);
    let condition = users::is_available_since(rec.user.availability_since);
    match deps.store.update(&keys::user(user_id), update, Some(condition)).await {
        Ok(_) => {
            deps.emit(EventKind::UserAvailability { user_id: user_id.clone(), availability: Availability::Away }).await;
            Ok(true)
        }
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The periodic safety net: every available salesperson without a live
/// connection becomes away, and their silent connections are forgotten and
/// closed (a forgotten socket left open would keep hearing events), and
/// connections of users who lost their rights are closed.
/// Costs one query per available salesperson and one per role, never a scan.
pub async fn sweep(deps: &Deps) -> Result<SweepOutcome, StoreError> {
    let mut outcome = SweepOutcome::default();
    let cutoff = deps.clock.now() - timeout(deps);
    for rec in users::available(deps.store.as_ref(), 1000).await? {
        let conns = connections::by_user(deps.store.as_ref(), &rec.user.id).await?;
        let (live, stale): (Vec<_>, Vec<_>) = conns.into_iter().partition(|c| c.last_seen >= cutoff);
        // Away first, so a silent client still registered hears about it.
        if live.is_empty() && make_away_if_available(deps, &rec.user.id).await? {
            outcome.set_away += 1;
        }
        for c in stale {
            connections::remove(deps.store.as_ref(), &c.id).await?;
            // Closed once forgotten, so its disconnect finds nothing to undo.
            deps.connections.close(&c.id).await;
            outcome.removed_connections += 1;
        }
    }
    outcome.revoked_connections = super::revoke::sweep(deps).await?;
    Ok(outcome)
}
