//! The reference parse: `phonenumber::parse` + `phonenumber::is_valid`, as it
//! always was. Slow (every regex goes through the crate's global, locked LRU),
//! so it only runs when the fast path is not certain, and it is what the
//! differential tests and the bench compare the fast path against.

use super::{Phone, PhoneError, Region};
use phonenumber::Mode;

/// Parses `trimmed` (already trimmed, not empty) exactly as `phonenumber` does.
pub(super) fn parse_trimmed(trimmed: &str, region: Region) -> Result<(Phone, Option<Region>), PhoneError> {
    let number =
        phonenumber::parse(Some(region.0), trimmed).map_err(|_| PhoneError::Unparseable(trimmed.to_owned()))?;
    if !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid(trimmed.to_owned()));
    }
    let phone = Phone(number.format().mode(Mode::E164).to_string());
    Ok((phone, number.country().id().map(Region)))
}
