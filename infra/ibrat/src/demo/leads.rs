//! Sample leads for the demo: names, unique Uzbek mobile numbers, a mix of
//! priorities, and for each lead an IANA zone where the calling window is
//! open right now (so the demo dials at once without bending the rules).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ibrat_domain::CallingWindow;
use rand::seq::SliceRandom;
use rand::Rng;

/// Zones tried, spread across the world's offsets so some are open at any hour.
const ZONES: &[&str] = &[
    "Asia/Tashkent",
    "Asia/Samarkand",
    "Asia/Almaty",
    "Asia/Dubai",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Europe/Berlin",
    "Europe/London",
    "Atlantic/Azores",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Bangkok",
    "Asia/Dhaka",
    "Asia/Kolkata",
    "Asia/Karachi",
];

const FIRST_NAMES: &[&str] = &[
    "Aziz", "Bobur", "Dilnoza", "Farrux", "Gulnora", "Jasur", "Kamola", "Laylo", "Malika", "Nodir", "Otabek", "Rustam",
    "Sardor", "Shahnoza", "Timur", "Umida", "Zarina", "Javohir", "Nilufar", "Sherzod",
];

const LAST_NAMES: &[&str] = &[
    "Karimov",
    "Tursunova",
    "Rashidov",
    "Aliyeva",
    "Yusupov",
    "Nazarova",
    "Ergashev",
    "Saidova",
    "Xolmatov",
    "Qodirova",
    "Abdullayev",
    "Ismoilova",
];

/// Priorities with their weights: mostly medium, a few urgent.
const PRIORITIES: &[(&str, u32)] = &[("urgent", 1), ("high", 3), ("medium", 5), ("low", 2)];

/// The zones of [`ZONES`] where `window` is open at `now`.
pub fn open_zones(window: &CallingWindow, now: DateTime<Utc>) -> Vec<&'static str> {
    ZONES.iter().copied().filter(|z| z.parse::<Tz>().is_ok_and(|tz| window.is_open(now, tz))).collect()
}

/// One sample lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleLead {
    pub name: String,
    /// E.164, `+99890` then seven digits.
    pub phone: String,
    pub priority: &'static str,
    pub timezone: &'static str,
}

/// `count` leads with distinct numbers (consecutive from a random start, so
/// a second demo run on the same data gets new leads), zones from `zones`.
pub fn generate(count: usize, zones: &[&'static str], rng: &mut impl Rng) -> Vec<SampleLead> {
    const SPAN: u32 = 10_000_000;
    let start = rng.gen_range(0..SPAN);
    (0..count)
        .map(|i| {
            let first = FIRST_NAMES.choose(rng).copied().unwrap_or("Aziz");
            let last = LAST_NAMES.choose(rng).copied().unwrap_or("Karimov");
            let subscriber = (start + i as u32) % SPAN;
            let priority = PRIORITIES.choose_weighted(rng, |p| p.1).map(|p| p.0).unwrap_or("medium");
            SampleLead {
                name: format!("{first} {last}"),
                phone: format!("+99890{subscriber:07}"),
                priority,
                timezone: zones.choose(rng).copied().unwrap_or("Asia/Tashkent"),
            }
        })
        .collect()
}

/// The leads as an import CSV (`name,phone,priority,timezone`).
pub fn to_csv(leads: &[SampleLead]) -> Vec<u8> {
    let mut out = String::from("name,phone,priority,timezone\n");
    for l in leads {
        out.push_str(&format!("{},{},{},{}\n", l.name, l.phone, l.priority, l.timezone));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn numbers_are_unique_and_uzbek() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let leads = generate(200, &["Asia/Tashkent"], &mut rng);
        let phones: HashSet<_> = leads.iter().map(|l| l.phone.clone()).collect();
        assert_eq!(phones.len(), 200);
        assert!(leads.iter().all(|l| l.phone.len() == 13 && l.phone.starts_with("+99890")));
        let priorities: HashSet<_> = leads.iter().map(|l| l.priority).collect();
        assert!(priorities.len() >= 3, "{priorities:?}");
    }

    #[test]
    fn only_zones_inside_the_window_are_offered() {
        let window = CallingWindow::default();
        // Tuesday 06:00 UTC: 11:00 in Tashkent (open), 01:00 in New York (closed).
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).unwrap();
        let zones = open_zones(&window, now);
        assert!(zones.contains(&"Asia/Tashkent"));
        assert!(!zones.contains(&"America/New_York"));
        for z in zones {
            assert!(window.is_open(now, z.parse().unwrap()), "{z}");
        }
    }

    #[test]
    fn the_csv_has_a_header_and_one_line_per_lead() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let csv = String::from_utf8(to_csv(&generate(3, &["Asia/Tashkent"], &mut rng))).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.starts_with("name,phone,priority,timezone\n"));
    }
}
