//! Phone numbers, always E.164, parsed with Google's libphonenumber rules.

use phonenumber::country::Id as CountryId;
use phonenumber::Mode;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The region a number without a country code is read in (default Uzbekistan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(CountryId);

impl Region {
    /// Parses an ISO 3166 alpha-2 code such as `UZ` or `US`.
    pub fn parse(code: &str) -> Result<Self, PhoneError> {
        CountryId::from_str(&code.trim().to_ascii_uppercase())
            .map(Region)
            .map_err(|_| PhoneError::UnknownRegion(code.to_owned()))
    }

    /// The ISO 3166 alpha-2 code.
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }

    /// The ISO 3166 alpha-2 code, borrowed.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl Default for Region {
    fn default() -> Self {
        Region(CountryId::UZ)
    }
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("`{0}` is not a phone number")]
    Unparseable(String),
    #[error("`{0}` is not a valid number for its country")]
    Invalid(String),
    #[error("`{0}` is not a known region code")]
    UnknownRegion(String),
}

/// A valid phone number in E.164 form (`+998901234567`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses any common written form (`90 123 45 67`, `+998 (90) 123-45-67`,
    /// `00998901234567`), reading numbers without a country code in `region`.
    pub fn parse(input: &str, region: Region) -> Result<Self, PhoneError> {
        Self::parse_with_region(input, region).map(|(phone, _)| phone)
    }

    /// [`Phone::parse`], also giving the region the number belongs to (what
    /// [`Phone::region_code`] says) from the same parse, so a caller that
    /// needs both (the import, for the time zone) parses once.
    pub fn parse_with_region(input: &str, region: Region) -> Result<(Self, Option<Region>), PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let number =
            phonenumber::parse(Some(region.0), trimmed).map_err(|_| PhoneError::Unparseable(trimmed.to_owned()))?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid(trimmed.to_owned()));
        }
        let phone = Phone(number.format().mode(Mode::E164).to_string());
        Ok((phone, number.country().id().map(Region)))
    }

    /// Accepts only text already in E.164 form (stored values, Twilio fields).
    pub fn parse_e164(input: &str) -> Result<Self, PhoneError> {
        if !input.starts_with('+') {
            return Err(PhoneError::Unparseable(input.to_owned()));
        }
        let p = Self::parse(input, Region::default())?;
        if p.0 == input {
            Ok(p)
        } else {
            Err(PhoneError::Unparseable(input.to_owned()))
        }
    }

    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ISO region the number belongs to, when libphonenumber knows it.
    pub fn region_code(&self) -> Option<String> {
        let n = phonenumber::parse(None, &self.0).ok()?;
        let id = n.country().id()?;
        let code: &str = id.as_ref();
        Some(code.to_owned())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, PhoneError> {
        Phone::parse_e164(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
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
        let inputs =
            ["90 123 45 67", "+998 (90) 123-45-67", "+14155552671", "+442079460958", "+7 495 123-45-67", "12-34"];
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
}
