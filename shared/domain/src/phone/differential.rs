//! Differential tests: the fast `Phone::parse_with_region` must return exactly
//! what the `phonenumber`-only reference returns, for every input and region.

use super::{fast, Phone, Region};
use phonenumber::country::Id as CountryId;
use phonenumber::metadata::DATABASE;
use proptest::prelude::*;
use proptest::sample::select;

/// Regions the import cares about, then every region of the database.
const NAMED: &[&str] = &["UZ", "US", "GB", "RU", "KZ", "DE", "FR", "IN", "BR", "CN"];

fn all_regions() -> Vec<Region> {
    let mut ids: Vec<&str> = DATABASE.iter().map(|m| m.id()).filter(|id| id.parse::<CountryId>().is_ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|id| Region::parse(id).unwrap()).collect()
}

fn region_strategy() -> impl Strategy<Value = Region> {
    let named: Vec<Region> = NAMED.iter().map(|r| Region::parse(r).unwrap()).collect();
    prop_oneof![3 => select(named), 1 => select(all_regions())]
}

/// Example national numbers of every type of every metadata entry, with the
/// calling code, the national prefix and the entry's IDD when it is plain.
struct Example {
    region: Option<Region>,
    code: u16,
    national: String,
    national_prefix: Option<String>,
}

fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    // By code: `DATABASE.iter()` holds only one non-geographic entry.
    let metas = (1..1000u16).filter_map(|code| DATABASE.by_code(&code)).flatten();
    for meta in metas {
        let d = meta.descriptors();
        let kinds = [d.general(), d.fixed_line().unwrap_or(d.general()), d.mobile().unwrap_or(d.general())];
        let more = [d.toll_free(), d.premium_rate(), d.voip(), d.uan(), d.pager(), d.shared_cost()];
        for desc in kinds.into_iter().chain(more.into_iter().flatten()) {
            if let Some(national) = desc.example() {
                out.push(Example {
                    region: Region::parse(meta.id()).ok(),
                    code: meta.country_code(),
                    national: national.to_owned(),
                    national_prefix: meta.national_prefix().map(str::to_owned),
                });
            }
        }
    }
    out
}

/// Writes `digits` in groups of 1 to 4 separated by `sep`, the first group
/// in parentheses when `paren`.
fn grouped(digits: &str, sizes: &[usize], sep: &str, paren: bool) -> String {
    let mut out = String::new();
    let mut rest = digits;
    for (i, &size) in sizes.iter().cycle().enumerate() {
        if rest.is_empty() {
            break;
        }
        let (group, tail) = rest.split_at(size.min(rest.len()));
        if i > 0 {
            out.push_str(sep);
        }
        if i == 0 && paren {
            out.push('(');
            out.push_str(group);
            out.push(')');
        } else {
            out.push_str(group);
        }
        rest = tail;
    }
    out
}

/// The written forms a person (or a CSV export) produces for one number.
fn forms(e: &Example) -> Vec<String> {
    let n = &e.national;
    let cc = e.code.to_string();
    let np = e.national_prefix.clone().unwrap_or_default();
    let mut out = vec![
        format!("+{cc}{n}"),
        format!("+{cc} {}", grouped(n, &[3, 3, 2, 2], " ", false)),
        format!("+{cc} {}", grouped(n, &[2, 3, 2, 2], "-", true)),
        format!("+{cc}-{}", grouped(n, &[2, 3, 2, 2], "-", false)),
        format!("+{cc}({}", grouped(n, &[3, 3, 4], ")", false)),
        format!("00{cc}{n}"),
        format!("011 {cc} {n}"),
        format!("810{cc}{n}"),
        format!("{cc}{n}"),
        format!("{cc} {}", grouped(n, &[2, 3, 2, 2], " ", false)),
        n.clone(),
        grouped(n, &[2, 3, 2, 2], " ", false),
        grouped(n, &[3, 3, 4], "-", true),
        grouped(n, &[3, 4, 4], ".", false),
        format!("{np}{n}"),
        format!("{np} {}", grouped(n, &[3, 3, 2, 2], "-", true)),
        format!("8 {}", grouped(n, &[3, 3, 2, 2], "-", true)),
        format!("0{n}"),
    ];
    // Near misses: a digit too many, too few, changed.
    out.push(format!("+{cc}{n}5"));
    out.push(format!("+{cc}{}", &n[..n.len().saturating_sub(1)]));
    out.push(format!("{n}0"));
    out
}

fn assert_agrees(input: &str, region: Region) -> bool {
    let reference = Phone::parse_with_region_reference(input, region);
    assert_eq!(Phone::parse_with_region(input, region), reference, "{input:?} in {region:?}");
    let trimmed = input.trim();
    match (!trimmed.is_empty()).then(|| fast::parse(trimmed, region)).flatten() {
        Some(fast) => {
            assert_eq!(fast, reference, "fast path on {input:?} in {region:?}");
            true
        }
        None => false,
    }
}

#[test]
fn every_example_number_in_every_form_agrees() {
    // The reference is slow (~1 ms a call unoptimised: its regex cache
    // thrashes), so each example is written in every fifth form and each form
    // read in one home region, cycling through the named ones, the number's
    // own and any other.
    let named: Vec<Region> = NAMED.iter().map(|r| Region::parse(r).unwrap()).collect();
    let regions = all_regions();
    let (mut total, mut decided, mut valid) = (0usize, 0usize, 0usize);
    for (i, example) in examples().iter().enumerate() {
        for (j, form) in forms(example).iter().enumerate().filter(|(j, _)| (i + j) % 5 == 0) {
            let home = match (i + j) % (named.len() + 2) {
                k if k < named.len() => named[k],
                k if k == named.len() => example.region.unwrap_or_default(),
                _ => regions[(i * 7 + j) % regions.len()],
            };
            total += 1;
            decided += usize::from(assert_agrees(form, home));
            valid += usize::from(Phone::parse_with_region(form, home).is_ok());
        }
    }
    // Not a vacuous comparison: most inputs take the fast path, many valid.
    assert!(decided * 10 >= total * 8, "fast path decided only {decided} of {total}");
    assert!(valid * 10 >= total * 2, "only {valid} of {total} valid");
}

/// Digit strings with an optional international or national start and
/// separators sprinkled between the digits.
fn digits_strategy() -> impl Strategy<Value = String> {
    let start = select(vec!["", "+", "00", "+00", "0", "8", "810", "011", "+0", "(", "+7", "998", "+998 "]);
    let body = prop::collection::vec((0u8..10, select(vec!["", "", "", " ", "-", ".", "(", ")", " - "])), 1..20);
    (start, body).prop_map(|(start, body)| {
        let mut s = start.to_owned();
        for (d, sep) in body {
            s.push(char::from(b'0' + d));
            s.push_str(sep);
        }
        s
    })
}

/// 1000 cases a property unless `PROPTEST_CASES` asks for more.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn written_digits_agree(input in digits_strategy(), region in region_strategy()) {
        assert_agrees(&input, region);
    }

    #[test]
    fn punctuation_soup_agrees(input in "[0-9 +().-]{0,24}", region in region_strategy()) {
        assert_agrees(&input, region);
    }

    #[test]
    fn uzbek_mobile_numbers_agree(
        operator in select(vec!["90", "91", "93", "94", "95", "97", "98", "99", "33", "88", "77", "20", "55", "71"]),
        subscriber in 0u32..10_000_000,
        form in 0usize..8,
        region in region_strategy(),
    ) {
        let s = format!("{subscriber:07}");
        let (a, b, c) = (&s[..3], &s[3..5], &s[5..]);
        let input = match form {
            0 => format!("+998{operator}{s}"),
            1 => format!("{operator} {a} {b} {c}"),
            2 => format!("+998 ({operator}) {a}-{b}-{c}"),
            3 => format!("00998{operator}{s}"),
            4 => format!("998{operator}{s}"),
            5 => format!("+998-{operator}-{a}-{b}-{c}"),
            6 => format!("8 {operator} {a}{b}{c}"),
            _ => format!("{operator}{s}"),
        };
        assert_agrees(&input, region);
        prop_assert!(fast::parse(&input, Region::default()).is_some(), "{} fell back", input);
    }

    #[test]
    fn anything_else_agrees(input in "[0-9a-zA-Z +().,;:#*~/xX\\-\u{a0}\u{ff10}-\u{ff19}]{0,30}", region in region_strategy()) {
        assert_agrees(&input, region);
    }
}
