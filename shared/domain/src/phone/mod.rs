//! Phone numbers, always E.164, parsed with Google's libphonenumber rules.
//!
//! `phonenumber` is the source of truth, but its parse and validation take
//! ~11 µs behind one process-wide regex lock, too slow for the CSV import.
//! [`Phone::parse_with_region`] therefore first tries a lock-free fast path
//! (`fast`) that reproduces the crate step by step for the common written
//! forms, and falls back to the crate (`reference`) whenever it is not certain.

mod fast;
mod pattern;
mod reference;
mod rules;
mod table;
mod written;

#[cfg(test)]
mod differential;

use phonenumber::country::Id as CountryId;
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
        fast::parse(trimmed, region).unwrap_or_else(|| reference::parse_trimmed(trimmed, region))
    }

    /// [`Phone::parse_with_region`] through `phonenumber` alone, the reference
    /// the fast path must agree with; for differential tests and benches.
    #[doc(hidden)]
    pub fn parse_with_region_reference(input: &str, region: Region) -> Result<(Self, Option<Region>), PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        reference::parse_trimmed(trimmed, region)
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
mod tests;
