//! One data row to a typed lead, or to the reason it is refused (with the
//! column at fault), following the rules of hand-made leads.

use std::collections::BTreeMap;

use csv::ByteRecord;
use ibrat_domain::timezone::{parse_zone, zone_for_region};
use ibrat_domain::{Email, Phone, Priority, Region};
use serde::{Deserialize, Serialize};

use super::headers::Columns;

/// Longest name, as for hand-made leads.
pub const MAX_NAME: usize = 200;
/// Longest notes.
pub const MAX_NOTES: usize = 5000;
/// Longest custom value.
pub const MAX_CUSTOM_VALUE: usize = 1000;
/// Longest phone, email or zone cell.
pub const MAX_SHORT: usize = 254;
/// How much of a refused value is kept in the report.
const MAX_REPORTED_VALUE: usize = 200;

/// A row that makes a lead (serialisable, to be staged on disk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadRow {
    /// The file line the row starts on (1-based, header is line 1 usually).
    pub line: u64,
    pub phone: Phone,
    pub name: String,
    pub email: Option<Email>,
    pub priority: Priority,
    /// IANA zone from the file, or from the number's country.
    pub timezone: Option<String>,
    pub notes: String,
    pub custom: BTreeMap<String, String>,
}

/// Why a row was not imported as a new lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    /// A cell is unusable.
    Invalid,
    /// The phone is already a lead, or repeats an earlier row.
    Duplicate,
    /// The number is on the do-not-call list.
    DoNotCall,
}

impl RejectKind {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectKind::Invalid => "invalid",
            RejectKind::Duplicate => "duplicate",
            RejectKind::DoNotCall => "do_not_call",
        }
    }

    /// Reads a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invalid" => Some(RejectKind::Invalid),
            "duplicate" => Some(RejectKind::Duplicate),
            "do_not_call" => Some(RejectKind::DoNotCall),
            _ => None,
        }
    }
}

/// A rejected row: where, which column, why, and the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub kind: RejectKind,
    /// The column's header as written in the file.
    pub column: String,
    pub reason: String,
    /// The refused value (cut to 200 characters).
    pub value: String,
}

impl RowError {
    /// A rejection of `value` in `column`.
    pub fn new(line: u64, kind: RejectKind, column: &str, reason: impl Into<String>, value: &str) -> Self {
        let value = match value.char_indices().nth(MAX_REPORTED_VALUE) {
            Some((cut, _)) => value[..cut].to_owned(),
            None => value.to_owned(),
        };
        RowError { line, kind, column: column.to_owned(), reason: reason.into(), value }
    }
}

/// True for a record whose every cell is blank (skipped, not counted).
pub fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

/// Reads the trimmed text of a column (empty when the row is short).
fn cell<'r>(cols: &Columns, record: &'r ByteRecord, index: usize, line: u64) -> Result<&'r str, RowError> {
    let raw = record.get(index).unwrap_or_default();
    std::str::from_utf8(raw).map(str::trim).map_err(|_| {
        let shown = String::from_utf8_lossy(raw);
        RowError::new(line, RejectKind::Invalid, cols.header(index), "not valid UTF-8", &shown)
    })
}

fn opt_cell<'r>(cols: &Columns, record: &'r ByteRecord, index: Option<usize>, line: u64) -> Result<&'r str, RowError> {
    match index {
        Some(i) => cell(cols, record, i, line),
        None => Ok(""),
    }
}

fn bounded(cols: &Columns, index: Option<usize>, value: &str, max: usize, line: u64) -> Result<(), RowError> {
    if value.len() > max && value.chars().count() > max {
        let column = index.map(|i| cols.header(i)).unwrap_or_default();
        return Err(RowError::new(line, RejectKind::Invalid, column, format!("longer than {max} characters"), value));
    }
    Ok(())
}

/// Parses one data row. Numbers without a country code are read in `region`.
pub fn parse_row(cols: &Columns, record: &ByteRecord, line: u64, region: Region) -> Result<LeadRow, RowError> {
    let invalid = |index: usize, reason: String, value: &str| {
        RowError::new(line, RejectKind::Invalid, cols.header(index), reason, value)
    };
    let raw_phone = cell(cols, record, cols.phone, line)?;
    bounded(cols, Some(cols.phone), raw_phone, MAX_SHORT, line)?;
    // One parse gives the number and its region (for the zone below).
    let (phone, phone_region) =
        Phone::parse_with_region(raw_phone, region).map_err(|e| invalid(cols.phone, e.to_string(), raw_phone))?;

    let name = match cols.name {
        Some(i) => cell(cols, record, i, line)?.to_owned(),
        None => {
            let first = opt_cell(cols, record, cols.first_name, line)?;
            let last = opt_cell(cols, record, cols.last_name, line)?;
            format!("{first} {last}").trim().to_owned()
        }
    };
    bounded(cols, cols.name.or(cols.first_name), &name, MAX_NAME, line)?;

    let raw_email = opt_cell(cols, record, cols.email, line)?;
    let email = match (raw_email.is_empty(), cols.email) {
        (false, Some(i)) => {
            bounded(cols, Some(i), raw_email, MAX_SHORT, line)?;
            Some(Email::parse(raw_email).map_err(|e| invalid(i, e.to_string(), raw_email))?)
        }
        _ => None,
    };

    let raw_priority = opt_cell(cols, record, cols.priority, line)?;
    let priority = match (raw_priority.is_empty(), cols.priority) {
        (false, Some(i)) => Priority::parse(raw_priority)
            .ok_or_else(|| invalid(i, "priority must be urgent, high, medium, low or 1 to 4".into(), raw_priority))?,
        _ => Priority::Medium,
    };

    let raw_zone = opt_cell(cols, record, cols.timezone, line)?;
    let timezone = match (raw_zone.is_empty(), cols.timezone) {
        (false, Some(i)) => {
            let zone = parse_zone(raw_zone)
                .ok_or_else(|| invalid(i, "not an IANA time zone such as Asia/Tashkent".into(), raw_zone))?;
            Some(zone.name().to_owned())
        }
        _ => phone_region.and_then(zone_for_region).map(|z| z.name().to_owned()),
    };

    let notes = opt_cell(cols, record, cols.notes, line)?;
    bounded(cols, cols.notes, notes, MAX_NOTES, line)?;

    let mut custom = BTreeMap::new();
    for (i, key) in &cols.custom {
        let value = cell(cols, record, *i, line)?;
        if !value.is_empty() {
            bounded(cols, Some(*i), value, MAX_CUSTOM_VALUE, line)?;
            custom.insert(key.clone(), value.to_owned());
        }
    }
    Ok(LeadRow { line, phone, name, email, priority, timezone, notes: notes.to_owned(), custom })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::headers::match_headers;

    fn cols(h: &[&str]) -> Columns {
        match_headers(&h.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("headers")
    }

    #[test]
    fn a_good_row_becomes_a_lead_with_defaults() {
        let c = cols(&["first name", "last name", "phone", "city"]);
        let r = parse_row(
            &c,
            &ByteRecord::from(vec!["Bobur", "Karimov", "90 123 45 67", "Tashkent"]),
            2,
            Region::default(),
        )
        .expect("parses");
        assert_eq!(r.phone.as_str(), "+998901234567");
        assert_eq!(r.name, "Bobur Karimov");
        assert_eq!(r.priority, Priority::Medium);
        assert_eq!(r.timezone.as_deref(), Some("Asia/Tashkent"));
        assert_eq!(r.custom.get("city").map(String::as_str), Some("Tashkent"));
    }

    #[test]
    fn bad_cells_name_their_column() {
        let c = cols(&["Phone", "Email", "Priority", "TZ"]);
        let row = |cells: Vec<&str>| parse_row(&c, &ByteRecord::from(cells), 3, Region::default());
        assert_eq!(row(vec!["hello", "", "", ""]).unwrap_err().column, "Phone");
        assert_eq!(row(vec!["901234567", "nope", "", ""]).unwrap_err().column, "Email");
        assert_eq!(row(vec!["901234567", "", "asap", ""]).unwrap_err().column, "Priority");
        assert_eq!(row(vec!["901234567", "", "", "Mars/Base"]).unwrap_err().column, "TZ");
        assert_eq!(row(vec!["+14155552671", "", "2", ""]).unwrap().timezone, None);
        assert_eq!(row(vec!["+14155552671", "", "2", "America/Chicago"]).unwrap().priority, Priority::High);
        let long = "x".repeat(MAX_NAME + 1);
        let c = cols(&["name", "phone"]);
        let e = parse_row(&c, &ByteRecord::from(vec![long.as_str(), "901234567"]), 4, Region::default()).unwrap_err();
        assert_eq!((e.column.as_str(), e.value.chars().count()), ("name", 200));
    }
}
