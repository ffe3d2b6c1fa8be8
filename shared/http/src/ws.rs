//! Local mode's WebSocket endpoint, `GET /ws?token=<access token>`: the
//! twin of the `ws` Lambda. The token is checked before upgrading (401
//! otherwise, nothing stored); then the socket speaks the protocol of
//! `docs/EVENTS.md` through the same service functions as the Lambda
//! (`realtime::session`), with [`LocalHub`] in the role of API Gateway's
//! management API. Closing the socket forgets the connection.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use futures::{SinkExt, StreamExt};
use ibrat_local::{LocalHub, Owner};
use ibrat_services::auth::Actor;
use ibrat_services::realtime::client::MAX_MESSAGE_BYTES;
use ibrat_services::realtime::session::{self, ConnectError};
use ibrat_services::Deps;
use serde::Deserialize;
use tokio::sync::mpsc::Receiver;

use crate::error::ApiError;
use crate::state::AppState;

/// Frames larger than this close the socket; smaller ones above
/// [`MAX_MESSAGE_BYTES`] get an error reply.
const MAX_FRAME_BYTES: usize = 4 * MAX_MESSAGE_BYTES;

/// Longest wait for a client to accept one frame before it is dropped.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `/ws` route. Serve it with the same hub the process's events go to
/// ([`crate::ws_fanout::HubFanout`], or `Fanout` over this hub) and that is
/// `Deps::connections`, or clients hear nothing and forgotten sockets stay
/// open.
pub fn router(hub: Arc<LocalHub>) -> Router<AppState> {
    Router::new().route("/ws", get(upgrade)).layer(Extension(hub)).layer(crate::panic::catch_panics())
}

#[derive(Debug, Deserialize)]
struct ConnectParams {
    token: Option<String>,
}

/// Refused tokens are 401 (with the auth error's code); a store outage is
/// 5xx so the client retries.
impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::MissingToken => ApiError::unauthorized("connect with `/ws?token=<access token>`"),
            ConnectError::Refused(auth) => auth.into(),
            ConnectError::Store(store) => store.into(),
        }
    }
}

async fn upgrade(
    State(state): State<AppState>,
    Extension(hub): Extension<Arc<LocalHub>>,
    params: Result<Query<ConnectParams>, QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let token = params.ok().and_then(|Query(p)| p.token);
    let actor = match session::authenticate(&state.deps, token.as_deref()).await {
        Ok(actor) => actor,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let deps = state.deps.clone();
    ws.max_message_size(MAX_FRAME_BYTES).on_upgrade(move |socket| serve(deps, hub, actor, socket))
}

/// One socket's life: register with the hub (first, so no event finds the
/// connection gone), record it in the table, then pump both directions
/// until either side closes, and forget it. When the hub drops the
/// connection (a slow reader, or its user lost their rights) the writer
/// ends, the socket closes and reading stops too.
async fn serve(deps: Deps, hub: Arc<LocalHub>, actor: Actor, socket: WebSocket) {
    let connection_id = format!("local-{}", uuid::Uuid::new_v4().simple());
    let owner = Owner { user_id: actor.id.clone(), role: actor.role };
    let outbox = hub.register_owned(&connection_id, owner);
    if let Err(e) = session::open(&deps, &connection_id, &actor).await {
        tracing::warn!(connection_id, error = %e, "could not record a websocket connection");
        hub.unregister(&connection_id);
        let mut socket = socket;
        // Best effort: the client sees the socket close and reconnects.
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    let (sink, stream) = socket.split();
    let writing = write(outbox, sink);
    tokio::pin!(writing);
    tokio::select! {
        () = &mut writing => {}
        () = read(&deps, &hub, &connection_id, stream) => {
            // Ends the writer once it has flushed what is queued.
            hub.unregister(&connection_id);
            writing.await;
        }
    }
    hub.unregister(&connection_id);
    if let Err(e) = session::close(&deps, &connection_id).await {
        tracing::warn!(connection_id, error = %e, "could not forget a closed websocket connection");
    }
}

/// Forwards what the hub receives for this connection (events and replies)
/// to the socket, then closes it. A client that takes longer than
/// [`SEND_TIMEOUT`] to accept one frame is given up on.
async fn write(mut outbox: Receiver<String>, mut sink: futures::stream::SplitSink<WebSocket, Message>) {
    while let Some(text) = outbox.recv().await {
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into()))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    let _ = sink.send(Message::Close(None)).await;
}

/// Answers each client message until the client closes, the socket fails
/// or the server closes the connection.
async fn read(deps: &Deps, hub: &LocalHub, connection_id: &str, mut stream: futures::stream::SplitStream<WebSocket>) {
    while let Some(frame) = stream.next().await {
        let text = match frame {
            Ok(Message::Text(text)) => text.as_str().to_owned(),
            // Not part of the protocol, but answered like any bad message.
            Ok(Message::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) | Err(_) => return,
        };
        if session::answer(deps, hub, connection_id, &text).await.closed {
            return;
        }
    }
}
