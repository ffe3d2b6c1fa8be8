//! The ports for commands that work on a data directory while no server
//! runs (`create-admin`): the same store and blobs as `serve`, with no
//! telephony, no listeners and events going nowhere.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, CreateCall, NoConnections, NullPublisher, PlacedCall, RemoteCall, SystemClock, Telephony,
    TelephonyError,
};
use ibrat_services::{Config, Deps};

use crate::system::{StartError, BLOBS_DIR, DB_FILE};

/// Telephony for offline commands: they never place calls, so every request
/// is refused as unavailable.
pub struct NoTelephony;

#[async_trait]
impl Telephony for NoTelephony {
    async fn create_call(&self, _req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        Err(unavailable())
    }
    async fn fetch_call(&self, _sid: &str) -> Result<RemoteCall, TelephonyError> {
        Err(unavailable())
    }
    async fn end_call(&self, _sid: &str) -> Result<(), TelephonyError> {
        Err(unavailable())
    }

    async fn update_call(&self, _sid: &str, _instruction: &CallInstruction) -> Result<(), TelephonyError> {
        Err(unavailable())
    }
    async fn list_calls_to(
        &self,
        _to: &str,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<RemoteCall>, TelephonyError> {
        Err(unavailable())
    }
}

fn unavailable() -> TelephonyError {
    TelephonyError::Unavailable("offline commands do not place calls".into())
}

/// Opens the data directory's store for an offline command.
pub fn deps(data_dir: &Path, config: Config) -> Result<Deps, StartError> {
    let path = data_dir.join(DB_FILE);
    let store = RedbStore::open(&path).map_err(|source| StartError::Store { path, source })?;
    let blobs = FsBlobStore::new(data_dir.join(BLOBS_DIR), format!("{}/uploads", config.public_url));
    Ok(Deps {
        store: Arc::new(store),
        queue: Arc::new(MemQueue::new()),
        events: Arc::new(NullPublisher),
        connections: Arc::new(NoConnections),
        telephony: Arc::new(NoTelephony),
        blobs: Arc::new(blobs),
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    })
}
