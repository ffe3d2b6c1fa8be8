//! The fast path: `phonenumber::parse(Some(region), ..)` followed by
//! `phonenumber::is_valid` and the E.164 format, step by step as the crate
//! does them (quirks included), on the digits of a common written form and
//! with the lock-free compiled patterns. Whenever a step is not modelled
//! here it answers "unsure" and the caller runs the reference parse.

use super::pattern::Unsure;
use super::rules::{Length, Rules};
use super::table::{self, Table};
use super::written::{self, Written};
use super::{Phone, PhoneError, Region};

/// What `Phone::parse_with_region` returns.
pub(super) type Parsed = Result<(Phone, Option<Region>), PhoneError>;

/// The crate's bounds on a national significant number.
const MIN_NSN: usize = 2;
const MAX_NSN: usize = 17;

/// Parses `trimmed` (not empty) like the reference, or `None` when the fast
/// path cannot be certain it would agree.
pub(super) fn parse(trimmed: &str, region: Region) -> Option<Parsed> {
    decide(trimmed, region).ok()
}

fn decide(trimmed: &str, region: Region) -> Result<Parsed, Unsure> {
    let written = written::read(trimmed).ok_or(Unsure)?;
    let table = table::table();
    let home = table.region(region).and_then(|e| e.rules()).ok_or(Unsure)?;
    let unparseable = || Ok(Err(PhoneError::Unparseable(trimmed.to_owned())));

    let (code, national) = match &written {
        Written::Rfc { code, national } => {
            // The rest must hold three digits to be viable.
            if national.as_bytes().len() < 3 {
                return unparseable();
            }
            match parse_u16(code.as_bytes()) {
                Some(code) if table.has_code(code) => (code, national.as_bytes()),
                _ => return unparseable(),
            }
        }
        Written::Natural { plus, digits } => match country_code(table, home, *plus, digits.as_bytes())? {
            Some(found) => found,
            None => return unparseable(),
        },
    };
    let national = strip_national_prefix(home, national)?;
    if !(MIN_NSN..=MAX_NSN).contains(&national.len()) {
        return unparseable();
    }
    // `NationalNumber` keeps leading zeros apart and the rest in 56 bits.
    let zeros = national.iter().take_while(|&&d| d == b'0').count();
    let significant = &national[zeros..];
    if significant.is_empty() || parse_u64(significant) >= 1 << 56 {
        return unparseable();
    }

    let Some(owner) = table.source_for(code, national)? else {
        return Ok(Err(PhoneError::Invalid(trimmed.to_owned())));
    };
    if !owner.rules().ok_or(Unsure)?.has_type(national)? {
        return Ok(Err(PhoneError::Invalid(trimmed.to_owned())));
    }
    // The crate names the region from the number without its leading zeros.
    let named = if zeros == 0 { Some(owner) } else { table.source_for(code, significant)? };
    Ok(Ok((e164(code, national), named.and_then(|e| e.region))))
}

/// `helper::international_prefix` then `helper::country_code` for text read
/// naturally: the calling code and the rest, `None` when the crate fails.
fn country_code<'a>(
    table: &Table,
    home: &Rules,
    plus: bool,
    digits: &'a [u8],
) -> Result<Option<(u16, &'a [u8])>, Unsure> {
    let mut national = digits;
    let mut international = plus;
    // The home IDD is stripped unless a 0 follows it (even after a `+`).
    if let Some(idd) = &home.idd {
        if let Some(end) = idd.end_at_start(national)? {
            if national.get(end) != Some(&b'0') {
                national = &national[end..];
                international = true;
            }
        }
    }
    if international {
        if national.len() <= MIN_NSN || national[0] == b'0' {
            return Ok(None);
        }
        for len in 1..=3 {
            let code = parse_u64(&national[..len]) as u16;
            if table.has_code(code) {
                return Ok(Some((code, &national[len..])));
            }
        }
        return Ok(None);
    }
    // Without a `+` or IDD the home code is dropped when the number starts
    // with it and is not a good home number as it stands.
    if national.starts_with(&home.code_digits)
        && (!home.general_matches(national)? || !home.length(national.len()).is_possible())
    {
        national = &national[home.code_digits.len()..];
    }
    Ok(Some((home.code, national)))
}

/// `helper::national_number` then the crate's second national-prefix strip,
/// kept only when the result is not too short for the home region.
fn strip_national_prefix<'a>(home: &Rules, national: &'a [u8]) -> Result<&'a [u8], Unsure> {
    let mut potential = national;
    let prefix = home.national_prefix.as_deref();
    match &home.prefix_for_parsing {
        Some(parsing) => {
            if let Some(end) = parsing.end_at_start(potential)? {
                if home.transforms {
                    return Err(Unsure);
                }
                potential = &potential[end..];
            }
        }
        None => potential = strip(potential, prefix),
    }
    potential = strip(potential, prefix);
    Ok(if home.length(potential.len()) == Length::TooShort { national } else { potential })
}

fn strip<'a>(digits: &'a [u8], prefix: Option<&[u8]>) -> &'a [u8] {
    prefix.and_then(|p| digits.strip_prefix(p)).unwrap_or(digits)
}

/// `str::parse::<u16>` of ASCII digits.
fn parse_u16(digits: &[u8]) -> Option<u16> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Value of at most 19 ASCII digits.
fn parse_u64(digits: &[u8]) -> u64 {
    digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0'))
}

fn e164(code: u16, national: &[u8]) -> Phone {
    let mut text = String::with_capacity(1 + 5 + national.len());
    text.push('+');
    let code = u32::from(code);
    let mut divisor = 1;
    while divisor * 10 <= code {
        divisor *= 10;
    }
    while divisor > 0 {
        text.push(char::from(b'0' + (code / divisor % 10) as u8));
        divisor /= 10;
    }
    text.extend(national.iter().map(|&d| char::from(d)));
    Phone(text)
}
