//! A Twilio stand-in for local mode and end-to-end tests. It serves the part
//! of Twilio's REST API the dialer uses (calls: create, list, fetch, end and
//! move; conferences: list, fetch, end; participants: add, list, fetch,
//! update, remove; with Twilio's JSON and error codes, true enough that
//! Twilio's own helper libraries work against it) and plays every call out
//! in the background by calling our webhooks with signed requests, in
//! Twilio's order, following the TwiML they answer, conference rooms
//! included. Outcomes are drawn from [`SimConfig`]'s rates with a per-call
//! RNG seeded from the run's seed and the call's creation order, so a run
//! repeats; `time_scale` shrinks every wait. Faults ([`Faults`]) can be
//! injected at configured rates, and a ledger of everything played is kept.

mod call;
mod calls_api;
mod conference;
mod config;
mod courier;
mod errors;
mod faults;
mod ledger;
mod outcome;
mod player;
mod request;
mod resource;
mod rest;
mod room;
mod rooms_api;
mod script;
mod state;
mod timing;
mod twiml;
mod webhook;

use std::net::SocketAddr;
use std::time::Duration;

pub use call::{DialStatus, DialedNumber, SimCall, SimStats, SimStatus, WebhookError};
pub use config::{Phone, SimConfig, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN};
pub use errors::ApiError;
pub use faults::Faults;
pub use ledger::LedgerEntry;
pub use rest::{ledger_router, router};
pub use room::{Member, RoomSnapshot, RoomStatus};
pub use state::SimState;

/// A running simulator: its HTTP server and its state. Dropping it stops
/// the server; calls still playing finish on their own.
pub struct Simulator {
    state: SimState,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Binds `addr` (port 0 picks a free port) and serves the REST API.
    pub async fn start(addr: SocketAddr, config: SimConfig) -> std::io::Result<Simulator> {
        let state = SimState::new(config)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("twilio simulator stopped: {e}");
            }
        });
        tracing::info!(%addr, "twilio simulator listening");
        Ok(Simulator { state, addr, server })
    }

    /// The URL to give `TwilioClient::with_base_url`; a wildcard bind
    /// address is reported as loopback.
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}")
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The account SID clients must use.
    pub fn account_sid(&self) -> &str {
        &self.state.config().account_sid
    }

    /// The state behind the server.
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Snapshots of every call, in creation order.
    pub fn calls(&self) -> Vec<SimCall> {
        self.state.calls()
    }

    /// A snapshot of one call.
    pub fn call(&self, sid: &str) -> Option<SimCall> {
        self.state.call(sid)
    }

    /// Waits until no call is still playing; false if `timeout` passed first.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        self.state.wait_idle(timeout).await
    }

    /// Counts of calls by final status.
    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    /// Snapshots of every conference room, in creation order.
    pub fn rooms(&self) -> Vec<RoomSnapshot> {
        self.state.rooms()
    }

    /// A snapshot of one room.
    pub fn room(&self, sid: &str) -> Option<RoomSnapshot> {
        self.state.room(sid)
    }

    /// Every ledger entry, in order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.state.ledger_entries()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}
