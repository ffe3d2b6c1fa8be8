//! `Deps` over the local adapters for tests: an in-memory store, the
//! recording queue and publisher, the scripted telephony and blobs in a
//! temporary folder, all on one [`TestClock`] pinned inside the calling
//! window. Any port can be replaced; the kit's doubles stay reachable.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ibrat_domain::Settings;
use ibrat_local::{FsBlobStore, RedbStore};
use ibrat_ports::{BlobStore, Clock, ConnectionSender, EventPublisher, NoConnections, Queue, Store, Telephony};
use ibrat_services::realtime::Fanout;
use ibrat_services::{repo, Config, Deps};

use crate::connections::RecordingConnections;
use crate::events::RecordingEvents;
use crate::queue::RecordingQueue;
use crate::store::FailingStore;
use crate::telephony::FakeTelephony;
use crate::time::{inside_window, TestClock};

/// The public URL of every kit system (Twilio callbacks are signed over it).
pub const PUBLIC_URL: &str = "https://dialer.example.com";

/// `Config::for_tests` with the kit's public URL.
pub fn test_config() -> Config {
    Config { public_url: PUBLIC_URL.into(), ..Config::for_tests() }
}

/// A test system's ports and the doubles behind them.
pub struct TestDeps {
    /// What services take.
    pub deps: Deps,
    pub clock: Arc<TestClock>,
    pub store: Arc<RedbStore>,
    pub queue: Arc<RecordingQueue>,
    pub events: Arc<RecordingEvents>,
    pub telephony: Arc<FakeTelephony>,
    /// The failing store services use, when built with
    /// [`TestDepsBuilder::failing_store`].
    pub failing: Option<Arc<FailingStore>>,
    /// Records posts and closes; services use it when built with
    /// [`TestDepsBuilder::record_connections`].
    pub connections: Arc<RecordingConnections>,
    /// Where `FsBlobStore` keeps uploads; removed on drop.
    pub blobs_dir: tempfile::TempDir,
}

/// Wraps the kit's store into the one services use.
type WrapStore = Box<dyn FnOnce(RedbStore) -> Arc<dyn Store>>;

/// Builds [`TestDeps`]; see [`TestDeps::builder`].
pub struct TestDepsBuilder {
    at: DateTime<Utc>,
    running: bool,
    config: Config,
    file: Option<std::path::PathBuf>,
    failing: bool,
    record_connections: bool,
    fanout: bool,
    store: Option<WrapStore>,
    queue: Option<Arc<dyn Queue>>,
    events: Option<Arc<dyn EventPublisher>>,
    connections: Option<Arc<dyn ConnectionSender>>,
    telephony: Option<Arc<dyn Telephony>>,
    blobs: Option<Arc<dyn BlobStore>>,
}

impl TestDeps {
    /// Every default: stopped clock at [`inside_window`], [`test_config`].
    pub fn new() -> Self {
        Self::builder().build()
    }

    pub fn builder() -> TestDepsBuilder {
        TestDepsBuilder {
            at: inside_window(),
            running: false,
            config: test_config(),
            file: None,
            failing: false,
            record_connections: false,
            fanout: false,
            store: None,
            queue: None,
            events: None,
            connections: None,
            telephony: None,
            blobs: None,
        }
    }

    /// Now, on the kit's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Stores settings derived from the defaults, with a call rate high
    /// enough that sequential tests never wait for a slot.
    pub async fn settings(&self, edit: impl FnOnce(&mut Settings)) -> Settings {
        let mut s = Settings::default();
        s.pacing.calls_per_second = 100;
        edit(&mut s);
        s.validate().expect("valid test settings");
        repo::settings::put(self.store.as_ref(), &s).await.expect("settings stored");
        s
    }
}

impl Default for TestDeps {
    fn default() -> Self {
        Self::new()
    }
}

impl TestDepsBuilder {
    /// The clock starts at `at` instead of [`inside_window`].
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }

    /// The clock runs with tokio's clock from its start (for tests on
    /// paused time, where sleeps in the code under test move it).
    pub fn running_clock(mut self) -> Self {
        self.running = true;
        self
    }

    pub fn config(mut self, edit: impl FnOnce(&mut Config)) -> Self {
        edit(&mut self.config);
        self
    }

    /// The store is the database file at `path` (a data directory local
    /// mode wrote) instead of a fresh one in memory.
    pub fn file_store(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Wraps the kit's store (to inject failures, say).
    pub fn store(mut self, wrap: impl FnOnce(RedbStore) -> Arc<dyn Store> + 'static) -> Self {
        self.store = Some(Box::new(wrap));
        self
    }

    /// Services use a [`FailingStore`] over the kit's store (reachable as
    /// [`TestDeps::failing`]), to break reads of chosen items.
    pub fn failing_store(mut self) -> Self {
        self.failing = true;
        self
    }

    /// Services post to and close connections through
    /// [`TestDeps::connections`] instead of having none.
    pub fn record_connections(mut self) -> Self {
        self.record_connections = true;
        self
    }

    /// Events go through the real fan-out (over the store and the
    /// connection sender) instead of to the recording publisher.
    pub fn fanout(mut self) -> Self {
        self.fanout = true;
        self
    }

    pub fn queue(mut self, queue: Arc<dyn Queue>) -> Self {
        self.queue = Some(queue);
        self
    }

    pub fn events(mut self, events: Arc<dyn EventPublisher>) -> Self {
        self.events = Some(events);
        self
    }

    pub fn connections(mut self, connections: Arc<dyn ConnectionSender>) -> Self {
        self.connections = Some(connections);
        self
    }

    pub fn telephony(mut self, telephony: Arc<dyn Telephony>) -> Self {
        self.telephony = Some(telephony);
        self
    }

    pub fn blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    pub fn build(self) -> TestDeps {
        let clock = Arc::new(if self.running { TestClock::running(self.at) } else { TestClock::stopped(self.at) });
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let redb = match &self.file {
            Some(path) => RedbStore::open(path).expect("the database file opens"),
            None => RedbStore::in_memory().expect("an in-memory store"),
        }
        .with_clock(dyn_clock.clone());
        let store = Arc::new(redb.clone());
        let queue = Arc::new(RecordingQueue::default());
        let events = Arc::new(RecordingEvents::default());
        let telephony = Arc::new(FakeTelephony::new(dyn_clock.clone()));
        let blobs_dir = tempfile::tempdir().expect("a temporary folder");
        let failing = self.failing.then(|| Arc::new(FailingStore::new(redb.clone())));
        let recording = Arc::new(RecordingConnections::new(store.clone()));
        let deps_store: Arc<dyn Store> = match (self.store, &failing) {
            (Some(wrap), _) => wrap(redb),
            (None, Some(failing)) => failing.clone(),
            (None, None) => store.clone(),
        };
        let connections: Arc<dyn ConnectionSender> = match (self.connections, self.record_connections) {
            (Some(c), _) => c,
            (None, true) => recording.clone(),
            (None, false) => Arc::new(NoConnections),
        };
        let publisher: Arc<dyn EventPublisher> = match (self.events, self.fanout) {
            (Some(e), _) => e,
            (None, true) => {
                Arc::new(Fanout::new(deps_store.clone(), connections.clone()).with_clock(dyn_clock.clone()))
            }
            (None, false) => events.clone(),
        };
        let deps = Deps {
            store: deps_store,
            queue: self.queue.unwrap_or_else(|| queue.clone()),
            events: publisher,
            connections,
            telephony: self.telephony.unwrap_or_else(|| telephony.clone()),
            blobs: self
                .blobs
                .unwrap_or_else(|| Arc::new(FsBlobStore::new(blobs_dir.path(), format!("{PUBLIC_URL}/uploads")))),
            clock: dyn_clock,
            config: Arc::new(self.config),
        };
        TestDeps { deps, clock, store, queue, events, telephony, failing, connections: recording, blobs_dir }
    }
}
