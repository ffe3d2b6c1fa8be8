//! The scheduler of local mode: what EventBridge does for the scheduler
//! Lambda once a minute, done every few seconds on a timer (presence sweep,
//! scheduler tick with recovery, queue statistics, the sweep of stalled
//! imports). Nudges need nothing here: they are queue messages, and the
//! worker runs a tick for each.

use std::time::Duration;

use ibrat_services::dialing::scheduler::scheduled;
use ibrat_services::Deps;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// Local mode's period between scheduled runs.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(3);

/// Runs the scheduled work now and then every `period` until `shutdown`
/// turns true. A failed run is logged; the next one tries again.
pub async fn run(deps: Deps, period: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = ticks.tick() => {}
        }
        match scheduled(&deps).await {
            Ok(outcome) => tracing::debug!(
                available = outcome.tick.available,
                capacity = outcome.tick.capacity,
                in_flight = outcome.tick.in_flight,
                dispatched = outcome.tick.dispatched.len(),
                "scheduled run"
            ),
            Err(e) => tracing::warn!(error = %e, "scheduled run failed; the next one tries again"),
        }
    }
}
