//! Pinned instants and the test clock. Domain time in tests never comes from
//! the wall clock: calling windows, retries and presence depend on the hour,
//! and a suite that passes at noon must pass at 02:00 on a Sunday.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use ibrat_ports::Clock;

/// Parses an RFC 3339 instant.
pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}")).with_timezone(&Utc)
}

/// Tuesday 2026-11-24 06:00 UTC: 11:00 in Tashkent and Samarkand, 06:00 in
/// London, 01:00 in New York. Inside the default calling window (09:00 to
/// 20:00, Monday to Saturday) for leads in Asia/Tashkent.
pub fn inside_window() -> DateTime<Utc> {
    utc("2026-11-24T06:00:00Z")
}

/// Sunday 2026-11-29 02:00 UTC: 07:00 on a Sunday in Tashkent, 02:00 on a
/// Sunday in London, 21:00 on a Saturday in New York. Outside the default
/// calling window in each of them.
pub fn outside_window() -> DateTime<Utc> {
    utc("2026-11-29T02:00:00Z")
}

/// Millisecond precision, as the store keeps instants.
pub fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// The clock of every test: pinned at an instant, and either stopped there
/// (moved only by [`TestClock::advance`] and [`TestClock::set`]) or running
/// with tokio's clock from there, so sleeps in the code under test move it
/// (instantly under `start_paused`, in real time in a running system).
pub struct TestClock {
    /// The instant at `started` (or at any moment, when stopped).
    base: Mutex<DateTime<Utc>>,
    /// Set when the clock runs: the tokio instant `base` was read at.
    started: Option<tokio::time::Instant>,
}

impl TestClock {
    /// A clock stopped at `at`.
    pub fn stopped(at: DateTime<Utc>) -> Self {
        TestClock { base: Mutex::new(at), started: None }
    }

    /// A clock at `at` now, running with tokio's clock.
    pub fn running(at: DateTime<Utc>) -> Self {
        TestClock { base: Mutex::new(at), started: Some(tokio::time::Instant::now()) }
    }

    /// Now (also through [`Clock`]; inherent so tests need no trait import).
    pub fn now(&self) -> DateTime<Utc> {
        let base = *self.base.lock().unwrap_or_else(|e| e.into_inner());
        match self.started {
            Some(started) => base + Duration::from_std(started.elapsed()).unwrap_or(Duration::MAX),
            None => base,
        }
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.base.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    /// Makes it `at` now.
    pub fn set(&self, at: DateTime<Utc>) {
        let elapsed = self.started.map_or(Duration::zero(), |s| Duration::from_std(s.elapsed()).unwrap_or_default());
        *self.base.lock().unwrap_or_else(|e| e.into_inner()) = at - elapsed;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        TestClock::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};
    use chrono_tz::Asia::Tashkent;
    use ibrat_domain::CallingWindow;

    #[test]
    fn the_pinned_instants_are_on_either_side_of_the_default_window() {
        let window = CallingWindow::default();
        assert!(window.is_open(inside_window(), Tashkent));
        assert!(!window.is_open(outside_window(), Tashkent));
        assert_eq!(outside_window().with_timezone(&Tashkent).weekday(), Weekday::Sun);
    }

    #[test]
    fn a_stopped_clock_moves_only_when_told() {
        let clock = TestClock::stopped(inside_window());
        assert_eq!(clock.now(), inside_window());
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now(), inside_window() + Duration::minutes(5));
        clock.set(outside_window());
        assert_eq!(clock.now(), outside_window());
    }

    #[tokio::test(start_paused = true)]
    async fn a_running_clock_follows_tokio_time() {
        let clock = TestClock::running(inside_window());
        tokio::time::sleep(std::time::Duration::from_secs(90)).await;
        assert_eq!(clock.now(), inside_window() + Duration::seconds(90));
        clock.set(outside_window());
        assert_eq!(clock.now(), outside_window());
    }
}
