//! One region's (or non-geographic code's) metadata compiled for the fast
//! path, with the checks `phonenumber` makes with it: `validator::length` for
//! the general descriptor and `validator::number_type(..) != Unknown`.

use super::pattern::{Described, Pattern, Unsure};
use phonenumber::metadata::Metadata;

/// What `phonenumber::validator::length(meta, number, Type::Unknown)` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Length {
    Possible,
    LocalOnly,
    TooShort,
    Invalid,
    TooLong,
}

impl Length {
    /// `Validation::is_possible`.
    pub(super) fn is_possible(self) -> bool {
        matches!(self, Length::Possible | Length::LocalOnly)
    }
}

/// The compiled patterns and prefixes of one metadata entry.
pub(super) struct Rules {
    /// The calling code, as a number and as ASCII digits.
    pub(super) code: u16,
    pub(super) code_digits: Box<[u8]>,
    general: Described,
    /// Every type `number_type` tries; a number is valid if any matches.
    types: Vec<Described>,
    possible: Vec<u16>,
    possible_local: Vec<u16>,
    /// The international (IDD) prefix pattern.
    pub(super) idd: Option<Pattern>,
    pub(super) national_prefix: Option<Box<[u8]>>,
    pub(super) prefix_for_parsing: Option<Pattern>,
    /// A transform rule exists: stripping needs capture groups, so the fast
    /// path leaves such numbers to the reference.
    pub(super) transforms: bool,
    pub(super) leading_digits: Option<Pattern>,
}

impl Rules {
    /// Compiles `meta`, `None` if any of its patterns cannot be a DFA.
    pub(super) fn compile(meta: &Metadata) -> Option<Self> {
        let d = meta.descriptors();
        // `number_type` order is irrelevant for "any": most likely first.
        let kinds = [
            d.mobile(),
            d.fixed_line(),
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        // Absent stays `Some(None)`; a pattern that fails to compile is `None`.
        let pattern = |re: Option<&str>| match re {
            None => Some(None),
            Some(re) => Pattern::new(re).map(Some),
        };
        Some(Rules {
            code: meta.country_code(),
            code_digits: meta.country_code().to_string().into_bytes().into(),
            general: Described::new(d.general())?,
            types: kinds.into_iter().flatten().map(Described::new).collect::<Option<_>>()?,
            possible: d.general().possible_length().to_vec(),
            possible_local: d.general().possible_local_length().to_vec(),
            idd: pattern(meta.international_prefix().map(|re| re.as_str()))?,
            national_prefix: meta.national_prefix().map(|p| p.as_bytes().into()),
            prefix_for_parsing: pattern(meta.national_prefix_for_parsing().map(|re| re.as_str()))?,
            transforms: meta.national_prefix_transform_rule().is_some(),
            leading_digits: pattern(meta.leading_digits().map(|re| re.as_str()))?,
        })
    }

    /// `descriptors().general().is_match(national)`.
    pub(super) fn general_matches(&self, national: &[u8]) -> Result<bool, Unsure> {
        self.general.is_match(national)
    }

    /// `validator::number_type(meta, national) != Type::Unknown`.
    pub(super) fn has_type(&self, national: &[u8]) -> Result<bool, Unsure> {
        if !self.general.is_match(national)? {
            return Ok(false);
        }
        for kind in &self.types {
            if kind.is_match(national)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `validator::length(meta, number of len digits, Type::Unknown)`, whose
    /// descriptor is the general one.
    pub(super) fn length(&self, len: usize) -> Length {
        let (Some(&minimum), Some(&maximum)) = (self.possible.first(), self.possible.last()) else {
            return Length::Invalid;
        };
        let Ok(len) = u16::try_from(len) else {
            return Length::TooLong;
        };
        if self.possible_local.contains(&len) {
            Length::LocalOnly
        } else if len == minimum {
            Length::Possible
        } else if len < minimum {
            Length::TooShort
        } else if len > maximum {
            Length::TooLong
        } else if self.possible.contains(&len) {
            Length::Possible
        } else {
            Length::Invalid
        }
    }
}
