//! What every handler gets.

use ibrat_services::Deps;

/// How CSV exports reach the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportDelivery {
    /// Streamed in the response (local mode: nothing buffers it).
    #[default]
    Stream,
    /// Written to object storage, answered with a presigned download link
    /// (the `api` Lambda: `lambda_http` buffers responses and API Gateway
    /// refuses more than 6 MB).
    Link,
}

/// Shared handler state: the ports, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub deps: Deps,
    pub exports: ExportDelivery,
}

impl AppState {
    /// State over the given ports; exports stream.
    pub fn new(deps: Deps) -> Self {
        AppState { deps, exports: ExportDelivery::Stream }
    }

    /// Exports are delivered as `exports`.
    pub fn with_exports(mut self, exports: ExportDelivery) -> Self {
        self.exports = exports;
        self
    }
}
