//! One WebSocket connection's life, written once for both faces: the `ws`
//! Lambda (`$connect`, `$default`, `$disconnect` on API Gateway) and local
//! mode's `/ws` endpoint call these same functions, so the two protocols
//! cannot drift apart.

use ibrat_ports::{ConnectionSender, PostError, StoreError};

use super::client::{self, ClientReply};
use super::connections::Connection;
use super::presence;
use crate::auth::{self, Actor, AuthError};
use crate::context::Deps;

/// Why a connection was not opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No `token` query parameter.
    #[error("no access token was given")]
    MissingToken,
    /// The token is invalid, expired or revoked, or its user is deactivated.
    #[error("access token refused: {0}")]
    Refused(#[source] AuthError),
    /// The table could not be read or written; the client may retry.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConnectError {
    /// True when the client is at fault (refuse with 401); false when we
    /// are (answer 5xx so the client retries).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, ConnectError::Store(_))
    }
}

/// Checks the access token a client connects with.
pub async fn authenticate(deps: &Deps, token: Option<&str>) -> Result<Actor, ConnectError> {
    let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(ConnectError::MissingToken)?;
    auth::authenticate(deps, token).await.map_err(|e| match e {
        AuthError::Store(s) => ConnectError::Store(s),
        other => ConnectError::Refused(other),
    })
}

/// Records an authenticated connection (announcing the user online when it
/// is their first). The user is checked again once the connection is
/// registered: a deactivation or role change that raced the handshake
/// closed the connections it could see, and this one it could not.
pub async fn open(deps: &Deps, connection_id: &str, actor: &Actor) -> Result<Connection, ConnectError> {
    let conn = presence::on_connect(deps, connection_id, &actor.id, actor.role).await?;
    if !super::revoke::entitled(deps, &conn).await? {
        presence::on_disconnect(deps, connection_id).await?;
        return Err(ConnectError::Refused(AuthError::Inactive));
    }
    tracing::info!(connection_id, user_id = %actor.id, "websocket connected");
    Ok(conn)
}

/// `$connect`: authenticates `token`, then records the connection. Nothing
/// is stored when the token is refused.
pub async fn connect(deps: &Deps, connection_id: &str, token: Option<&str>) -> Result<Connection, ConnectError> {
    let actor = authenticate(deps, token).await?;
    open(deps, connection_id, &actor).await
}

/// `$disconnect` or a closed socket: forgets the connection; when it was
/// the user's last, they go offline and stop being routed calls.
pub async fn close(deps: &Deps, connection_id: &str) -> Result<Option<Connection>, StoreError> {
    let conn = presence::on_disconnect(deps, connection_id).await?;
    if let Some(c) = &conn {
        tracing::info!(connection_id, user_id = %c.user_id, "websocket disconnected");
    }
    Ok(conn)
}

/// What became of a reply posted back to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Posted.
    Delivered,
    /// The connection no longer exists; it has been forgotten.
    Gone,
    /// Posting failed otherwise (logged); the connection is kept.
    Failed,
}

/// The outcome of one client message.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The acknowledgement or error sent back.
    pub reply: ClientReply,
    /// Whether the reply reached the client.
    pub delivery: Delivery,
    /// True when the server closed the connection (it was not registered,
    /// so the client must reconnect and authenticate again).
    pub closed: bool,
}

/// `$default`: handles one client message and posts the reply back to the
/// same connection through `sender`.
pub async fn answer(deps: &Deps, sender: &dyn ConnectionSender, connection_id: &str, text: &str) -> Answer {
    let reply = client::handle_client_message(deps, connection_id, text).await;
    let delivery = match sender.post(connection_id, reply.to_text().as_bytes()).await {
        Ok(()) => Delivery::Delivered,
        Err(PostError::Gone) => {
            if let Err(e) = close(deps, connection_id).await {
                tracing::warn!(connection_id, error = %e, "could not forget a gone connection");
            }
            Delivery::Gone
        }
        Err(PostError::Failed(e)) => {
            tracing::warn!(connection_id, error = %e, "could not post a reply");
            Delivery::Failed
        }
    };
    let closed = matches!(reply.code(), Some(client::UNKNOWN_CONNECTION | client::SESSION_REVOKED));
    if reply.code() == Some(client::SESSION_REVOKED) {
        if let Err(e) = close(deps, connection_id).await {
            tracing::warn!(connection_id, error = %e, "could not forget a revoked connection");
        }
    }
    if closed {
        sender.close(connection_id).await;
    }
    Answer { reply, delivery, closed }
}
