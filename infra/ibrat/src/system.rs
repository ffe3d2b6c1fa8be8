//! Wiring of local mode: every function of the deployment in one process,
//! over local adapters. The REST API, Twilio webhooks and WebSocket share one
//! listener; the queue worker, the scheduler timer and the import runner
//! run beside them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use ibrat_http::ws_fanout::HubFanout;
use ibrat_http::AppState;
use ibrat_local::{FsBlobStore, LocalHub, MemQueue, RedbStore};
use ibrat_ports::{Store, SystemClock, Telephony};
use ibrat_services::auth::{self, EnsureAdmin};
use ibrat_services::{Config, Deps};
use ibrat_twilio::TwilioClient;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use twilio_sim::{SimConfig, Simulator};

use crate::config::TwilioSetup;
use crate::worker::WorkerOptions;
use crate::{backup_route, timer, uploads, worker};

/// The database file inside the data directory.
pub const DB_FILE: &str = "ibrat.redb";
/// The folder of uploaded files inside the data directory.
pub const BLOBS_DIR: &str = "blobs";

/// How long shutdown waits for open connections before closing them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything `start` needs; the CLI fills it from flags and environment,
/// tests fill it by hand.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (port 0 picks a free port).
    pub addr: SocketAddr,
    /// Holds the database and uploaded files.
    pub data_dir: PathBuf,
    /// The deployment configuration; an empty `public_url` becomes
    /// `http://<bound address>`.
    pub config: Config,
    /// Real Twilio or the simulator.
    pub twilio: TwilioSetup,
    /// The simulator's behaviour (its credentials are filled in by `start`).
    pub sim: SimConfig,
    /// Creates this admin (email, password) when no admin exists.
    pub admin: Option<(String, String)>,
    /// Period of the scheduler timer.
    pub scheduler_period: Duration,
    /// Queue worker tuning.
    pub worker: WorkerOptions,
}

impl ServeOptions {
    /// Options with the simulator and defaults everywhere else.
    pub fn new(addr: SocketAddr, data_dir: impl Into<PathBuf>, config: Config) -> Self {
        ServeOptions {
            addr,
            data_dir: data_dir.into(),
            config,
            twilio: TwilioSetup::Simulated,
            sim: SimConfig::default(),
            admin: None,
            scheduler_period: timer::DEFAULT_PERIOD,
            worker: WorkerOptions::default(),
        }
    }
}

/// Why local mode could not start; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the database {path} could not be opened (is another ibrat using this data directory?): {source}")]
    Store { path: PathBuf, source: ibrat_ports::StoreError },
    #[error("the Twilio simulator could not start: {0}")]
    Simulator(std::io::Error),
    #[error("the Twilio client could not be built: {0}")]
    Twilio(String),
    #[error("the first admin could not be created: {0}")]
    Admin(auth::AuthError),
    #[error("the first admin was not created because {0} belongs to a user who is not an admin")]
    AdminEmailInUse(String),
}

/// Local mode, running. Drop it or call [`RunningSystem::shutdown`].
pub struct RunningSystem {
    /// The address the server listens on.
    pub addr: SocketAddr,
    /// The ports every service uses (tests read the store through them).
    pub deps: Deps,
    /// The in-process queue the worker drains.
    pub queue: Arc<MemQueue>,
    /// The simulator, when real Twilio is not used.
    pub sim: Option<Simulator>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
}

impl RunningSystem {
    /// `http://<addr>`, the base of every route.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://<addr>/ws`, the WebSocket endpoint (add `?token=`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A receiver that turns true when shutdown begins (for extra tasks such
    /// as the demo's).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stops accepting requests, lets the worker finish the messages in hand,
    /// and waits (briefly) for open connections to close.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.background.drain(..) {
            let _ = task.await;
        }
        let server = &mut self.server;
        if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
            tracing::info!("closing the connections still open");
            self.server.abort();
        }
    }
}

impl Drop for RunningSystem {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.server.abort();
        for task in &self.background {
            task.abort();
        }
    }
}

/// Starts every part of local mode and returns once the server listens.
pub async fn start(options: ServeOptions) -> Result<RunningSystem, StartError> {
    let ServeOptions { addr, data_dir, mut config, twilio, sim, admin, scheduler_period, worker } = options;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind { addr, source })?;
    if config.public_url.is_empty() {
        config.public_url = format!("http://{addr}");
    }

    let db_path = data_dir.join(DB_FILE);
    let redb = RedbStore::open(&db_path).map_err(|source| StartError::Store { path: db_path, source })?;
    let store: Arc<dyn Store> = Arc::new(redb.clone());
    let queue = Arc::new(MemQueue::new());
    let hub = Arc::new(LocalHub::new());
    // Arrived objects go to the local csv-import runner, as S3 notifies the Lambda.
    let (arrived, arrivals) = tokio::sync::mpsc::unbounded_channel();
    let blobs =
        FsBlobStore::new(data_dir.join(BLOBS_DIR), format!("{}/uploads", config.public_url)).with_arrivals(arrived);
    let (telephony, sim) = telephony(&twilio, config.twilio_auth_token.expose(), sim).await?;
    let deps = Deps {
        store: store.clone(),
        queue: queue.clone(),
        events: Arc::new(HubFanout::new(hub.clone())),
        connections: hub.clone(),
        telephony,
        blobs: Arc::new(blobs),
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    };
    if let Some((email, password)) = admin {
        ensure_admin(&deps, &email, &password).await?;
    }

    let (stop, stopping) = watch::channel(false);
    let mut app = app(deps.clone(), hub, redb, data_dir);
    if let Some(simulator) = &sim {
        app = app.merge(twilio_sim::ledger_router(simulator.state().clone()));
    }
    let server = tokio::spawn(serve(listener, app, stopping.clone()));
    let background = vec![
        tokio::spawn(worker::run(deps.clone(), queue.clone(), worker, stopping.clone())),
        tokio::spawn(timer::run(deps.clone(), scheduler_period, stopping.clone())),
        tokio::spawn(uploads::run(deps.clone(), arrivals, stopping)),
    ];
    Ok(RunningSystem { addr, deps, queue, sim, stop, server, background })
}

/// The one router: REST API, web console, Twilio webhooks, local mode's
/// backup route, WebSocket (with the simulator, `start` adds its ledger at
/// `/sim/ledger`).
fn app(deps: Deps, hub: Arc<LocalHub>, store: RedbStore, data_dir: PathBuf) -> Router {
    let state = AppState::new(deps);
    ibrat_http::api::router(state.clone())
        .merge(ibrat_http::console::router(ibrat_http::console::ConsoleConfig::default()))
        .merge(ibrat_http::twilio::router().with_state(state.clone()))
        .merge(backup_route::router(store, data_dir).with_state(state.clone()))
        .merge(ibrat_http::ws::router(hub).with_state(state))
}

/// Resolves once `stopping` turns true (or its sender is gone).
pub async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

async fn serve(listener: tokio::net::TcpListener, app: Router, mut stopping: watch::Receiver<bool>) {
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let stop = async move { stopped(&mut stopping).await };
    if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "the server stopped");
    }
}

/// Real Twilio, or the simulator plus a client pointed at it.
async fn telephony(
    twilio: &TwilioSetup,
    auth_token: &str,
    sim: SimConfig,
) -> Result<(Arc<dyn Telephony>, Option<Simulator>), StartError> {
    match twilio {
        TwilioSetup::Real { account_sid } => {
            let client =
                TwilioClient::new(account_sid.clone(), auth_token).map_err(|e| StartError::Twilio(e.to_string()))?;
            Ok((Arc::new(client), None))
        }
        TwilioSetup::Simulated => {
            let account_sid = format!("AC{}", hex::encode(rand::random::<[u8; 16]>()));
            let config = SimConfig { account_sid, auth_token: auth_token.to_owned(), ..sim };
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            let simulator = Simulator::start(loopback, config).await.map_err(StartError::Simulator)?;
            let client = TwilioClient::with_base_url(simulator.account_sid(), auth_token, simulator.base_url())
                .map_err(|e| StartError::Twilio(e.to_string()))?;
            Ok((Arc::new(client), Some(simulator)))
        }
    }
}

/// Creates the configured admin when there is none yet.
async fn ensure_admin(deps: &Deps, email: &str, password: &str) -> Result<(), StartError> {
    match auth::ensure_admin(deps, email, password, "Admin").await.map_err(StartError::Admin)? {
        EnsureAdmin::Created(id) => tracing::info!(user_id = %id, email, "first admin created"),
        EnsureAdmin::AlreadyPresent => tracing::debug!("an admin exists already"),
        EnsureAdmin::EmailInUse => return Err(StartError::AdminEmailInUse(email.to_owned())),
    }
    Ok(())
}
