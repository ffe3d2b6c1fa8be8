//! Times and days a request may name. chrono accepts years from -262143 to
//! 262142, and arithmetic near those ends overflows (a panic in `Sub`); the
//! store's sort keys hold 13 digits of milliseconds (until 2286). Anything
//! taken from a request is parsed into these types at the edge, so every
//! time a service sees lies in years 2000 to 2199 and `± a few years`
//! cannot overflow.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// First year a request may name.
pub const MIN_YEAR: i32 = 2000;
/// Last year a request may name.
pub const MAX_YEAR: i32 = 2199;

/// The refusal, worded for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dates must lie between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31 (UTC)")]
pub struct OutOfRange;

fn year_ok(year: i32) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&year)
}

/// An instant within [`MIN_YEAR`]..=[`MAX_YEAR`] (RFC 3339 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Instant(DateTime<Utc>);

impl Instant {
    /// Checks `t` against the bounds.
    pub fn new(t: DateTime<Utc>) -> Result<Self, OutOfRange> {
        if year_ok(t.year()) {
            Ok(Instant(t))
        } else {
            Err(OutOfRange)
        }
    }

    /// The time itself.
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Instant::new(DateTime::<Utc>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A calendar day within [`MIN_YEAR`]..=[`MAX_YEAR`] (`yyyy-mm-dd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Day(NaiveDate);

impl Day {
    /// Checks `d` against the bounds.
    pub fn new(d: NaiveDate) -> Result<Self, OutOfRange> {
        if year_ok(d.year()) {
            Ok(Day(d))
        } else {
            Err(OutOfRange)
        }
    }

    /// The day itself.
    pub fn get(self) -> NaiveDate {
        self.0
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Day::new(NaiveDate::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_years_are_refused_and_ordinary_ones_kept() {
        for raw in ["\"-262143-01-01T00:00:00Z\"", "\"1999-12-31T23:59:59Z\"", "\"2200-01-01T00:00:00Z\""] {
            let err = serde_json::from_str::<Instant>(raw).unwrap_err().to_string();
            assert!(err.contains("dates must lie between 2000-01-01 and 2199-12-31"), "{raw}: {err}");
        }
        let ok: Instant = serde_json::from_str("\"2026-12-02T10:00:00Z\"").unwrap();
        assert_eq!(ok.get().year(), 2026);
        assert!(serde_json::from_str::<Day>("\"1969-07-20\"").is_err());
        assert_eq!(serde_json::from_str::<Day>("\"2199-12-31\"").unwrap().get().year(), 2199);
    }

    #[test]
    fn a_bounded_instant_survives_any_range_arithmetic() {
        let lo = Instant::new(DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z").unwrap().into()).unwrap();
        let hi = Instant::new(DateTime::parse_from_rfc3339("2199-12-31T23:59:59Z").unwrap().into()).unwrap();
        assert!(lo.get().checked_sub_signed(chrono::Duration::days(3650)).is_some());
        assert!(hi.get().checked_add_signed(chrono::Duration::days(3650)).is_some());
    }
}
