//! The scheduler tick: runs every minute (EventBridge on AWS, a timer
//! locally) and whenever something is nudged. The scheduled run first
//! reconciles stale calls and sweeps stuck sessions (a nudge does neither,
//! so recovery runs one tick at a time, never inside the dialer); then it
//! computes how many calls may start (`pacing.capacity(available) -
//! in_flight`, stored as the `PACING` item's `cap` that dialer claims are
//! conditioned on), and queues a `Dial` for that many due leads. Leads whose
//! calling window is closed are moved to its next opening instead.

use ibrat_domain::timezone::parse_zone;
use ibrat_domain::LeadId;
use tracing::Instrument;

use super::common::{defer_to_window, hold_for_zone};
use super::due_leads::next_due;
use super::error::DialingError;
use super::recovery::{reconcile_with, RecoveryOptions, RecoveryOutcome};
use crate::context::Deps;
use crate::messages::QueueMessage;
use crate::repo;

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickOutcome {
    /// Salespeople available now.
    pub available: u32,
    /// Calls allowed in flight with them (`pacing.capacity`).
    pub capacity: u32,
    /// Calls in flight when the tick looked.
    pub in_flight: i64,
    /// Leads a `Dial` was queued for, in dialing order.
    pub dispatched: Vec<LeadId>,
    /// Due leads moved to their calling window's next opening.
    pub deferred: u32,
    /// Due leads put on hold because their time zone is unreadable.
    pub held: u32,
    /// True when dialing is paused (nothing dispatched).
    pub paused: bool,
    /// What recovery did (None on a nudge, or when it failed; a failure is
    /// logged and the next scheduled tick tries again).
    pub recovery: Option<RecoveryOutcome>,
    /// What the sessions' sweep did (stuck lines and wrap-ups; None on a
    /// nudge, or when it failed).
    pub sessions: Option<crate::sessions::SweepOutcome>,
}

/// Tunables of the tick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickOptions {
    /// Run recovery and the sessions' sweep first (the scheduled tick; a
    /// nudge does not).
    pub repair: bool,
    /// Options of the recovery run the scheduled tick starts with.
    pub recovery: RecoveryOptions,
    /// Options of the sessions' sweep the scheduled tick runs.
    pub sessions: crate::sessions::SweepOptions,
}

/// One tick as a nudge runs it (no repairs); see [`tick_with`].
pub async fn tick(deps: &Deps) -> Result<TickOutcome, DialingError> {
    tick_with(deps, &TickOptions::default()).await
}

/// One tick as the every-minute schedule runs it: recovery and the
/// sessions' sweep first, with their default options.
pub async fn repairing_tick(deps: &Deps) -> Result<TickOutcome, DialingError> {
    tick_with(deps, &TickOptions { repair: true, ..TickOptions::default() }).await
}

/// Rounds of picking when closed windows defer some of the picked leads.
const PICK_ROUNDS: usize = 3;

/// Runs one tick.
pub async fn tick_with(deps: &Deps, opts: &TickOptions) -> Result<TickOutcome, DialingError> {
    async {
        let (mut recovery, mut sessions) = (None, None);
        if opts.repair {
            recovery = match reconcile_with(deps, &opts.recovery).await {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "recovery failed this tick");
                    None
                }
            };
            sessions = match crate::sessions::sweep(deps, &opts.sessions).await {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "sessions sweep failed this tick");
                    None
                }
            };
        }
        let mut out = TickOutcome { recovery, sessions, ..TickOutcome::default() };
        let store = deps.store.as_ref();
        let settings = repo::settings::get(store).await?;
        out.available = repo::users::count_available_salespeople(store).await?;
        out.capacity = settings.pacing.capacity(out.available);
        let now = deps.clock.now();
        let state = repo::pacing::set_cap(store, out.capacity, now).await?;
        out.in_flight = state.in_flight;
        out.paused = state.paused;
        if state.paused {
            tracing::warn!(reason = state.paused_reason.as_deref().unwrap_or(""), "dialing paused; nothing dispatched");
            return Ok(out);
        }
        let mut free = (out.capacity as i64 - state.in_flight).max(0) as usize;
        let mut bodies = Vec::new();
        for _ in 0..PICK_ROUNDS {
            if free == 0 {
                break;
            }
            // Leads dispatched in an earlier round are still queued: ask for them too.
            let leads = next_due(store, now, free + out.dispatched.len()).await?;
            let fresh = leads.iter().filter(|l| !out.dispatched.contains(&l.id)).count();
            if fresh == 0 {
                break;
            }
            let mut deferred_any = false;
            for lead in leads {
                if out.dispatched.contains(&lead.id) {
                    continue;
                }
                let Some(tz) = lead.timezone.as_deref().and_then(parse_zone) else {
                    if hold_for_zone(deps, &lead, now).await? {
                        out.held += 1;
                    }
                    deferred_any = true;
                    continue;
                };
                if !settings.calling_window.is_open(now, tz) {
                    let next = settings.calling_window.next_open(now, tz);
                    if defer_to_window(deps, &lead, next, now).await? {
                        out.deferred += 1;
                    }
                    deferred_any = true;
                    continue;
                }
                if out.dispatched.contains(&lead.id) || free == 0 {
                    continue;
                }
                bodies.push(QueueMessage::Dial { lead_id: lead.id.clone(), manual: false }.to_body());
                out.dispatched.push(lead.id);
                free -= 1;
            }
            if !deferred_any {
                break;
            }
        }
        if !bodies.is_empty() {
            deps.queue.send_batch(&bodies).await?;
        }
        tracing::info!(
            available = out.available,
            capacity = out.capacity,
            in_flight = out.in_flight,
            dispatched = out.dispatched.len(),
            deferred = out.deferred,
            "tick"
        );
        Ok(out)
    }
    .instrument(tracing::info_span!("tick"))
    .await
}

/// What the every-minute run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduledOutcome {
    /// The presence sweep (None when it failed; logged).
    pub presence: Option<crate::realtime::presence::SweepOutcome>,
    /// The tick.
    pub tick: TickOutcome,
    /// True when queue statistics were pushed to clients.
    pub stats_published: bool,
    /// The sweep of stalled imports (None when it failed; logged).
    pub imports: Option<crate::import::SweepOutcome>,
}

/// The every-minute run (EventBridge on AWS, a timer locally): the presence
/// sweep first (so salespeople nobody hears from are not counted as
/// available), then a [`repairing_tick`], then the queue statistics clients
/// show, then the sweep of stalled imports ([`crate::import::sweep`]).
/// Nudges run only the plain [`tick`], which stays cheap.
pub async fn scheduled(deps: &Deps) -> Result<ScheduledOutcome, DialingError> {
    let presence = match crate::realtime::presence::sweep(deps).await {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = %e, "presence sweep failed this minute");
            None
        }
    };
    let tick = repairing_tick(deps).await?;
    let stats_published = match crate::realtime::queue_stats::maybe_publish(deps).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "queue statistics not published");
            false
        }
    };
    let imports = match crate::import::sweep(deps).await {
        Ok(i) => Some(i),
        Err(e) => {
            tracing::warn!(error = %e, "stalled imports not swept this minute");
            None
        }
    };
    Ok(ScheduledOutcome { presence, tick, stats_published, imports })
}
