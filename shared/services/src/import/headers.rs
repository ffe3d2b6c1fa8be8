//! Matching a header row to our fields. Names are compared without case,
//! spaces, underscores, hyphens or dots, against common aliases; columns we
//! do not know become the lead's custom fields.

use super::FileError;

/// Most unrecognised columns kept as custom fields (as for hand-made leads).
pub const MAX_CUSTOM_COLUMNS: usize = 50;
/// Longest custom column name.
pub const MAX_CUSTOM_NAME: usize = 100;

/// Which column holds which field (0-based positions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub phone: usize,
    pub name: Option<usize>,
    pub first_name: Option<usize>,
    pub last_name: Option<usize>,
    pub email: Option<usize>,
    pub priority: Option<usize>,
    pub timezone: Option<usize>,
    pub notes: Option<usize>,
    /// Other columns: position and the (trimmed) header text.
    pub custom: Vec<(usize, String)>,
    /// Every header as written (trimmed), to name columns in row errors.
    pub headers: Vec<String>,
}

impl Columns {
    /// The header text of a column, for error reports.
    pub fn header(&self, index: usize) -> &str {
        self.headers.get(index).map(String::as_str).unwrap_or("")
    }
}

#[derive(Clone, Copy)]
enum Field {
    Phone,
    Name,
    FirstName,
    LastName,
    Email,
    Priority,
    Timezone,
    Notes,
}

/// `Full Name`, `full_name` and `FULL-NAME` all become `fullname`.
fn normalise(header: &str) -> String {
    header.chars().filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '\t')).flat_map(char::to_lowercase).collect()
}

fn field_of(normalised: &str) -> Option<Field> {
    Some(match normalised {
        "phone" | "phonenumber" | "phoneno" | "mobile" | "mobilephone" | "mobilenumber" | "tel" | "telephone"
        | "telephonenumber" | "cell" | "cellphone" | "msisdn" | "contactnumber" | "telefon" | "telefonraqami" => {
            Field::Phone
        }
        "name" | "fullname" | "contactname" | "leadname" | "clientname" | "customername" | "ism" | "fio" => Field::Name,
        "firstname" | "first" | "givenname" | "fname" | "forename" => Field::FirstName,
        "lastname" | "last" | "surname" | "familyname" | "lname" | "familiya" => Field::LastName,
        "email" | "emailaddress" | "mail" => Field::Email,
        "priority" | "prio" => Field::Priority,
        "timezone" | "tz" | "zone" => Field::Timezone,
        "notes" | "note" | "comment" | "comments" | "remarks" => Field::Notes,
        _ => return None,
    })
}

/// Maps a header row. Refuses a file without a phone column (naming the
/// headers found) or with more custom columns than a lead may hold. When a
/// field's column appears twice the first wins and the next is custom.
pub fn match_headers(raw: &[String]) -> Result<Columns, FileError> {
    let headers: Vec<String> = raw.iter().map(|h| h.trim().to_owned()).collect();
    let mut cols = Columns { headers: headers.clone(), ..Columns::default() };
    let mut phone = None;
    for (i, header) in headers.iter().enumerate() {
        let slot = match field_of(&normalise(header)) {
            Some(Field::Phone) => &mut phone,
            Some(Field::Name) => &mut cols.name,
            Some(Field::FirstName) => &mut cols.first_name,
            Some(Field::LastName) => &mut cols.last_name,
            Some(Field::Email) => &mut cols.email,
            Some(Field::Priority) => &mut cols.priority,
            Some(Field::Timezone) => &mut cols.timezone,
            Some(Field::Notes) => &mut cols.notes,
            None => {
                push_custom(&mut cols.custom, i, header)?;
                continue;
            }
        };
        if slot.is_none() {
            *slot = Some(i);
        } else {
            push_custom(&mut cols.custom, i, header)?;
        }
    }
    cols.phone = phone.ok_or_else(|| FileError::NoPhoneColumn { found: headers.clone() })?;
    if cols.custom.len() > MAX_CUSTOM_COLUMNS {
        return Err(FileError::TooManyColumns { max: MAX_CUSTOM_COLUMNS });
    }
    Ok(cols)
}

/// Keeps a custom column under a unique, non-empty, bounded name.
fn push_custom(custom: &mut Vec<(usize, String)>, index: usize, header: &str) -> Result<(), FileError> {
    if header.is_empty() {
        return Ok(());
    }
    if header.chars().count() > MAX_CUSTOM_NAME {
        return Err(FileError::HeaderTooLong { max: MAX_CUSTOM_NAME });
    }
    let mut name = header.to_owned();
    let mut n = 2;
    while custom.iter().any(|(_, existing)| *existing == name) {
        name = format!("{header} ({n})");
        n += 1;
    }
    custom.push((index, name));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn aliases_match_whatever_the_case_and_spacing() {
        let c = match_headers(&h(&[" Full Name ", "Phone Number", "E-mail", "PRIORITY", "Time_Zone", "City"]))
            .expect("matches");
        assert_eq!(c.phone, 1);
        assert_eq!(c.name, Some(0));
        assert_eq!(c.email, Some(2));
        assert_eq!(c.priority, Some(3));
        assert_eq!(c.timezone, Some(4));
        assert_eq!(c.custom, vec![(5, "City".to_owned())]);
        let c = match_headers(&h(&["first name", "Last Name", "tel"])).expect("matches");
        assert_eq!((c.first_name, c.last_name, c.phone), (Some(0), Some(1), 2));
    }

    #[test]
    fn a_file_without_a_phone_column_names_what_it_found() {
        match match_headers(&h(&["name", "email"])) {
            Err(FileError::NoPhoneColumn { found }) => assert_eq!(found, h(&["name", "email"])),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn repeated_columns_become_custom_fields() {
        let c = match_headers(&h(&["phone", "mobile", "x", "x"])).expect("matches");
        assert_eq!(c.phone, 0);
        assert_eq!(c.custom, vec![(1, "mobile".to_owned()), (2, "x".to_owned()), (3, "x (2)".to_owned())]);
    }
}
