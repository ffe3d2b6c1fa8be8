//! A connection speaks for its user only while the user keeps the rights it
//! was opened with: still active, the same role, and no password change
//! since it connected. Three paths enforce it, so no session outlives its
//! rights:
//! - the change itself closes the user's connections ([`close_user`], called
//!   by deactivation, role change and password change) through the
//!   [`ibrat_ports::ConnectionSender`] port: API Gateway's management API on
//!   AWS, the local hub's sockets in local mode; their registry entries go
//!   too, so fan-out (which reads the registry on AWS) stops at once;
//! - every client message re-checks the user ([`entitled`]) before acting;
//! - the scheduled presence sweep ([`sweep`]) closes whatever a crash between
//!   the user's write and the closing left behind.

use ibrat_domain::UserId;
use ibrat_ports::StoreError;

use super::connections::{self, Connection};
use crate::context::Deps;
use crate::repo::users::{self, Standing};

/// Whether `conn` may still act and listen for its user.
pub fn still_entitled(conn: &Connection, standing: Option<&Standing>) -> bool {
    standing.is_some_and(|s| {
        s.active && s.role == conn.role && conn.connected_at.timestamp_millis() >= s.tokens_after.saturating_mul(1000)
    })
}

/// Reads the user behind `conn` and checks [`still_entitled`].
pub async fn entitled(deps: &Deps, conn: &Connection) -> Result<bool, StoreError> {
    let standing = users::standing(deps.store.as_ref(), &conn.user_id).await?;
    Ok(still_entitled(conn, standing.as_ref()))
}

/// Forgets and closes one connection (registry first, so a disconnect that
/// follows finds nothing to undo).
pub async fn close_connection(deps: &Deps, conn: &Connection) -> Result<(), StoreError> {
    super::presence::on_disconnect(deps, &conn.id).await?;
    deps.connections.close(&conn.id).await;
    tracing::info!(connection_id = %conn.id, user_id = %conn.user_id, "websocket closed: the user's rights changed");
    Ok(())
}

/// Closes every connection of `user`; returns how many.
pub async fn close_user(deps: &Deps, user: &UserId) -> Result<usize, StoreError> {
    let conns = connections::by_user(deps.store.as_ref(), user).await?;
    for conn in &conns {
        close_connection(deps, conn).await?;
    }
    Ok(conns.len())
}

/// The sweep's part: every registered connection whose user lost the rights
/// it was opened with is closed. One query per role and one batch read of
/// the users behind them (users are tens, not millions).
pub async fn sweep(deps: &Deps) -> Result<usize, StoreError> {
    let store = deps.store.as_ref();
    let mut conns = connections::by_role(store, ibrat_domain::Role::Admin).await?;
    conns.extend(connections::by_role(store, ibrat_domain::Role::Salesperson).await?);
    let mut ids: Vec<UserId> = conns.iter().map(|c| c.user_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut standing = std::collections::HashMap::new();
    for chunk in ids.chunks(100) {
        standing.extend(users::standings(store, chunk).await?);
    }
    let mut closed = 0;
    for conn in conns.iter().filter(|c| !still_entitled(c, standing.get(&c.user_id))) {
        close_connection(deps, conn).await?;
        closed += 1;
    }
    Ok(closed)
}
