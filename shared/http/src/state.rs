//! What every handler gets.

use ibrat_services::Deps;

/// Shared handler state: the ports, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub deps: Deps,
}

impl AppState {
    /// State over the given ports.
    pub fn new(deps: Deps) -> Self {
        AppState { deps }
    }
}
