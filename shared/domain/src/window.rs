//! Calling windows evaluated in the lead's own zone, correct across
//! daylight-saving changes (local times are resolved through the zone's
//! rules, never by adding fixed offsets).

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::settings::CallingWindow;

impl CallingWindow {
    /// True when a call may start at `now` for someone in `tz`.
    pub fn is_open(&self, now: DateTime<Utc>, tz: Tz) -> bool {
        let local = now.with_timezone(&tz);
        self.days.contains(&local.weekday()) && local.time() >= self.start && local.time() < self.end
    }

    /// The first instant at or after `now` when the window is open in `tz`.
    pub fn next_open(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        if self.is_open(now, tz) {
            return now;
        }
        let today = now.with_timezone(&tz).date_naive();
        for offset in 0..=8 {
            let day = today + Duration::days(offset);
            if !self.days.contains(&day.weekday()) {
                continue;
            }
            let start = resolve(tz, day.and_time(self.start));
            let end = resolve(tz, day.and_time(self.end));
            if start >= now && start < end {
                return start;
            }
            if now >= start && now < end {
                return now;
            }
        }
        // Unreachable with at least one allowed day; a week later is safe.
        now + Duration::days(7)
    }
}

/// The instant a local wall-clock time means in `tz`. In a spring-forward gap
/// the time does not exist, so the first instant after the gap is used; in a
/// fall-back overlap the earlier of the two instants is used.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            let mut probe = local;
            for _ in 0..(4 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&local)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Weekday};
    use chrono_tz::{America::New_York, Asia::Tashkent, Europe::London};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn open_inside_and_closed_outside_local_hours() {
        let w = CallingWindow::default();
        // 2026-11-24 is a Tuesday. Tashkent is UTC+5.
        assert!(w.is_open(utc("2026-11-24T04:00:00Z"), Tashkent)); // 09:00 local
        assert!(!w.is_open(utc("2026-11-24T03:59:59Z"), Tashkent)); // 08:59
        assert!(!w.is_open(utc("2026-11-24T15:00:00Z"), Tashkent)); // 20:00 closes
        assert!(!w.is_open(utc("2026-11-29T06:00:00Z"), Tashkent)); // Sunday
    }

    #[test]
    fn next_open_skips_closed_days() {
        let w = CallingWindow::default();
        // Saturday 21:00 in Tashkent -> Monday 09:00.
        let next = w.next_open(utc("2026-11-28T16:00:00Z"), Tashkent);
        assert_eq!(next, utc("2026-11-30T04:00:00Z"));
    }

    #[test]
    fn daylight_saving_changes_move_the_utc_instant() {
        let w = CallingWindow::default();
        // New York: EDT (UTC-4) until 2026-11-01, EST (UTC-5) after.
        assert_eq!(w.next_open(utc("2026-10-30T05:00:00Z"), New_York), utc("2026-10-30T13:00:00Z"));
        // Saturday 21:30 EDT; Sunday is closed; Monday opens 09:00 EST = 14:00Z.
        assert_eq!(w.next_open(utc("2026-11-01T01:30:00Z"), New_York), utc("2026-11-02T14:00:00Z"));
        // London springs forward 2026-03-29 (a Sunday, so use an all-week window).
        let all_week = CallingWindow { days: vec![Weekday::Sun, Weekday::Mon], ..w.clone() };
        assert_eq!(all_week.next_open(utc("2026-03-29T06:00:00Z"), London), utc("2026-03-29T08:00:00Z"));
        assert!(!all_week.is_open(utc("2026-03-29T07:30:00Z"), London)); // 08:30 BST
        assert!(all_week.is_open(utc("2026-03-29T08:00:00Z"), London)); // 09:00 BST
    }

    #[test]
    fn a_window_starting_in_a_dst_gap_opens_after_the_gap() {
        // 2026-03-08 02:00-03:00 does not exist in New York.
        let w = CallingWindow {
            start: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            end: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            days: vec![Weekday::Sun],
        };
        // Bypass validation on purpose: resolve() must still be sound.
        let next = w.next_open(utc("2026-03-08T05:00:00Z"), New_York);
        assert_eq!(next, utc("2026-03-08T07:00:00Z")); // 03:00 EDT
    }
}
