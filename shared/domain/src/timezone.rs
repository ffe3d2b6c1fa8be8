//! Time zones: parsed from IANA names, or inferred from a phone number's
//! country when that country has exactly one zone.

use chrono_tz::Tz;

use crate::phone::{Phone, Region};

/// Parses an IANA zone name such as `Asia/Tashkent`.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// Countries that keep a single time zone, so a number alone tells its zone.
/// Countries with several zones (US, RU, KZ, BR, ...) are left out on purpose.
const SINGLE_ZONE: &[(&str, &str)] = &[
    ("UZ", "Asia/Tashkent"),
    ("TJ", "Asia/Dushanbe"),
    ("KG", "Asia/Bishkek"),
    ("TM", "Asia/Ashgabat"),
    ("AF", "Asia/Kabul"),
    ("AZ", "Asia/Baku"),
    ("AM", "Asia/Yerevan"),
    ("GE", "Asia/Tbilisi"),
    ("TR", "Europe/Istanbul"),
    ("AE", "Asia/Dubai"),
    ("SA", "Asia/Riyadh"),
    ("QA", "Asia/Qatar"),
    ("IL", "Asia/Jerusalem"),
    ("IN", "Asia/Kolkata"),
    ("PK", "Asia/Karachi"),
    ("CN", "Asia/Shanghai"),
    ("JP", "Asia/Tokyo"),
    ("KR", "Asia/Seoul"),
    ("SG", "Asia/Singapore"),
    ("TH", "Asia/Bangkok"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("GB", "Europe/London"),
    ("IE", "Europe/Dublin"),
    ("FR", "Europe/Paris"),
    ("DE", "Europe/Berlin"),
    ("IT", "Europe/Rome"),
    ("NL", "Europe/Amsterdam"),
    ("BE", "Europe/Brussels"),
    ("CH", "Europe/Zurich"),
    ("AT", "Europe/Vienna"),
    ("PL", "Europe/Warsaw"),
    ("CZ", "Europe/Prague"),
    ("SE", "Europe/Stockholm"),
    ("NO", "Europe/Oslo"),
    ("DK", "Europe/Copenhagen"),
    ("FI", "Europe/Helsinki"),
    ("GR", "Europe/Athens"),
    ("UA", "Europe/Kyiv"),
    ("BY", "Europe/Minsk"),
    ("EG", "Africa/Cairo"),
    ("NG", "Africa/Lagos"),
    ("KE", "Africa/Nairobi"),
    ("ZA", "Africa/Johannesburg"),
    ("NZ", "Pacific/Auckland"),
];

/// The zone of a number's country, when that country has only one.
pub fn zone_for_phone(phone: &Phone) -> Option<Tz> {
    zone_for_region_code(&phone.region_code()?)
}

/// The zone of a region, when it has only one (for a number parsed with
/// [`Phone::parse_with_region`], without parsing it again).
pub fn zone_for_region(region: Region) -> Option<Tz> {
    zone_for_region_code(region.as_str())
}

fn zone_for_region_code(code: &str) -> Option<Tz> {
    SINGLE_ZONE.iter().find(|(c, _)| *c == code).and_then(|(_, zone)| parse_zone(zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_zone_countries_are_inferred_and_others_are_not() {
        let uz = Phone::parse("+998901234567", Region::default()).unwrap();
        assert_eq!(zone_for_phone(&uz), Some(chrono_tz::Asia::Tashkent));
        let us = Phone::parse("+14155552671", Region::default()).unwrap();
        assert_eq!(zone_for_phone(&us), None);
        assert_eq!(zone_for_region(Region::default()), Some(chrono_tz::Asia::Tashkent));
        assert_eq!(zone_for_region(Region::parse("us").unwrap()), None);
        assert!(SINGLE_ZONE.iter().all(|(_, z)| parse_zone(z).is_some()));
        assert_eq!(parse_zone("Mars/Olympus"), None);
    }
}
