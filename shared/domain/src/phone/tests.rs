//! Behaviour of `Phone` and `Region`, and that the fast path decides the
//! forms the import sees.

use super::*;

#[test]
fn local_formats_normalise_to_e164() {
    let r = Region::default();
    for input in ["90 123 45 67", "+998 (90) 123-45-67", "00998901234567", "+998901234567", "998901234567"] {
        assert_eq!(Phone::parse(input, r).unwrap().as_str(), "+998901234567", "{input}");
    }
    let us = Region::parse("us").unwrap();
    assert_eq!(Phone::parse("(415) 555-2671", us).unwrap().as_str(), "+14155552671");
}

#[test]
fn garbage_is_refused_with_a_reason() {
    let r = Region::default();
    assert_eq!(Phone::parse("  ", r), Err(PhoneError::Empty));
    assert!(matches!(Phone::parse("hello", r), Err(PhoneError::Unparseable(_))));
    assert!(Phone::parse("123", r).is_err());
    assert!(Region::parse("ZZZ").is_err());
    assert!(Phone::parse_e164("998901234567").is_err());
    assert!(Phone::parse_e164("+998901234567").is_ok());
}

#[test]
fn knows_its_region() {
    let p = Phone::parse("+998901234567", Region::default()).unwrap();
    assert_eq!(p.region_code().as_deref(), Some("UZ"));
}

#[test]
fn parse_with_region_agrees_with_parse_and_region_code() {
    let inputs = ["90 123 45 67", "+998 (90) 123-45-67", "+14155552671", "+442079460958", "+7 495 123-45-67", "12-34"];
    for input in inputs {
        let (phone, region) = match Phone::parse_with_region(input, Region::default()) {
            Ok((p, r)) => (Ok(p), r),
            Err(e) => (Err(e), None),
        };
        assert_eq!(phone, Phone::parse(input, Region::default()), "{input}");
        let expected = phone.as_ref().ok().and_then(Phone::region_code);
        assert_eq!(region.map(|r| r.code()), expected, "{input}");
    }
}

/// The forms the CSV import sees, with the region they are read in.
pub(super) const IMPORT_FORMS: &[(&str, &str)] = &[
    ("+998901234567", "UZ"),
    ("90 123 45 67", "UZ"),
    ("+998 (90) 123-45-67", "UZ"),
    ("00998901234567", "UZ"),
    ("998901234567", "UZ"),
    ("901234567", "UZ"),
    ("+998-90-123-45-67", "UZ"),
    ("90-123-45-67", "UZ"),
    ("90.123.45.67", "UZ"),
    ("(90) 123 45 67", "UZ"),
    ("12-34", "UZ"),
    ("(202) 555-0143", "US"),
    ("+1 202 555 0143", "US"),
    ("+1 202 555 0143", "UZ"),
    ("202-555-0143", "US"),
    ("8 (495) 123-45-67", "RU"),
    ("+7 495 123-45-67", "UZ"),
    ("+7 701 123 4567", "KZ"),
    ("020 7946 0958", "GB"),
    ("+44 20 7946 0958", "UZ"),
    ("030 123456", "DE"),
    ("01 42 68 53 00", "FR"),
    ("098765 43210", "IN"),
    ("(11) 91234-5678", "BR"),
    ("010 1234 5678", "CN"),
];

#[test]
fn the_fast_path_decides_the_import_forms() {
    for &(input, region) in IMPORT_FORMS {
        let region = Region::parse(region).unwrap();
        let fast = fast::parse(input, region);
        assert!(fast.is_some(), "{input} in {region:?} fell back");
        assert_eq!(fast.unwrap(), Phone::parse_with_region_reference(input, region), "{input} in {region:?}");
    }
}

#[test]
fn the_fast_path_leaves_unusual_forms_to_the_reference() {
    let uz = Region::default();
    for input in ["90 123 45 67 ext. 12", "+998 90 123 45 67 #5", "tel:+998-90-123-45-67", "90/123/45/67", "12"] {
        assert!(fast::parse(input, uz).is_none(), "{input}");
        assert_eq!(Phone::parse_with_region(input, uz), Phone::parse_with_region_reference(input, uz), "{input}");
    }
    // A Brazilian national prefix with a carrier code needs the transform rule.
    let br = Region::parse("BR").unwrap();
    assert!(fast::parse("0 15 11 91234-5678", br).is_none());
}
