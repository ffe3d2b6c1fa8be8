//! The demo's live line: lead and call figures every two seconds, from the
//! same service that answers `GET /api/leads/stats/summary`, so the line and
//! the endpoint always agree.

use std::time::Duration;

use ibrat_domain::{LeadStatus, Role, UserId};
use ibrat_services::auth::Actor;
use ibrat_services::stats::{self, LeadSummary};
use ibrat_services::Deps;
use tokio::sync::watch;

use crate::system::stopped;

/// How often the line is printed.
const EVERY: Duration = Duration::from_secs(2);

/// Prints the line until `stopping` turns true, as the admin `admin`.
pub async fn run(deps: Deps, admin: UserId, mut stopping: watch::Receiver<bool>) {
    let actor = Actor { id: admin, role: Role::Admin };
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = stopped(&mut stopping) => return,
            _ = ticks.tick() => {}
        }
        match stats::summary(&deps, &actor).await {
            Ok(summary) => println!("{}", line(&summary)),
            Err(e) => tracing::warn!(error = %e, "the summary could not be computed"),
        }
    }
}

/// One summary line: leads being dialed, ringing, talking, abandoned today,
/// done, and what is still waiting.
pub fn line(s: &LeadSummary) -> String {
    let n = |status: LeadStatus| s.by_status.get(status.as_str()).copied().unwrap_or(0);
    let done =
        n(LeadStatus::Completed) + n(LeadStatus::NoMoreAttempts) + n(LeadStatus::DoNotCall) + n(LeadStatus::Invalid);
    format!(
        "dialing {:>3} | ringing {:>3} | talking {:>3} | abandoned {:>3} | done {:>4} | queued {:>4} | retry {:>4} | calls today {:>5}",
        n(LeadStatus::Dialing),
        n(LeadStatus::Ringing),
        n(LeadStatus::InCall),
        s.abandoned_today,
        done,
        n(LeadStatus::Queued),
        n(LeadStatus::RetryScheduled),
        s.calls_today,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reads_the_summary_figures() {
        let mut s = LeadSummary { abandoned_today: 2, calls_today: 9, ..Default::default() };
        for (status, count) in [("dialing", 1), ("ringing", 2), ("in_call", 3), ("completed", 4), ("invalid", 1)] {
            s.by_status.insert(status.into(), count);
        }
        let line = line(&s);
        assert!(line.starts_with("dialing   1 | ringing   2 | talking   3 | abandoned   2 | done    5"), "{line}");
        assert!(line.ends_with("calls today     9"), "{line}");
    }
}
