//! The csv-import function of local mode: every object the local blob store
//! names as arrived (an upload under `imports/`, or one the scheduler's
//! sweep of stalled imports announces again) is imported, one at a time, by
//! the same `import::run_from_blob` the Lambda runs. A failed run is logged;
//! the import stays `running` and the sweep resumes or fails it later.

use ibrat_services::import;
use ibrat_services::Deps;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// Imports each arrived key until `shutdown` turns true or the store is gone.
pub async fn run(deps: Deps, mut arrivals: mpsc::UnboundedReceiver<String>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let key = tokio::select! {
            _ = shutdown.changed() => return,
            key = arrivals.recv() => match key {
                Some(key) => key,
                None => return,
            },
        };
        if import::import_id_of_key(&key).is_none() {
            continue;
        }
        let span = tracing::info_span!("csv_import", key = %key);
        match import::run_from_blob(&deps, &key).instrument(span).await {
            Ok(summary) => {
                tracing::info!(import_id = %summary.record.id, status = summary.record.status.as_str(), "import run")
            }
            Err(e) => tracing::warn!(key = %key, error = %e, retryable = e.is_retryable(), "import run failed"),
        }
    }
}
