//! The scheduler Lambda's handler: EventBridge runs it every minute; it runs
//! the presence sweep, one scheduler tick (recovery, pacing, dispatch of due
//! leads), publishes queue statistics and sweeps stalled imports.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use ibrat_services::dialing::scheduler::{scheduled, ScheduledOutcome};
use ibrat_services::dialing::DialingError;
use ibrat_services::Deps;
use serde::Serialize;
use tracing::Instrument;

/// The summary the function returns (visible in test invocations and logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TickSummary {
    /// Salespeople available.
    pub available: u32,
    /// Calls allowed in flight with them.
    pub capacity: u32,
    /// Calls in flight when the tick looked.
    pub in_flight: i64,
    /// `Dial` messages queued.
    pub dispatched: usize,
    /// Leads moved to their calling window's next opening.
    pub deferred: u32,
    /// Leads put on hold for an unreadable time zone.
    pub held: u32,
    /// True while dialing is paused.
    pub paused: bool,
    /// Salespeople made away by the presence sweep.
    pub set_away: usize,
    /// True when queue statistics were pushed to clients.
    pub stats_published: bool,
    /// Stalled imports resumed from their checkpoint.
    pub imports_resumed: usize,
    /// Stalled imports marked failed.
    pub imports_failed: usize,
}

impl From<&ScheduledOutcome> for TickSummary {
    fn from(run: &ScheduledOutcome) -> Self {
        let t = &run.tick;
        TickSummary {
            available: t.available,
            capacity: t.capacity,
            in_flight: t.in_flight,
            dispatched: t.dispatched.len(),
            deferred: t.deferred,
            held: t.held,
            paused: t.paused,
            set_away: run.presence.as_ref().map_or(0, |p| p.set_away),
            stats_published: run.stats_published,
            imports_resumed: run.imports.as_ref().map_or(0, |i| i.resumed.len()),
            imports_failed: run.imports.as_ref().map_or(0, |i| i.failed.len()),
        }
    }
}

/// Runs the every-minute work for a scheduled event. Errors fail the invocation (the
/// next minute's tick tries again; nothing is lost).
pub async fn handle_scheduled(deps: &Deps, event: CloudWatchEvent) -> Result<TickSummary, DialingError> {
    let span = tracing::info_span!("scheduled", event_id = event.id.as_deref().unwrap_or(""), at = %event.time);
    let outcome = scheduled(deps).instrument(span).await?;
    Ok(TickSummary::from(&outcome))
}
