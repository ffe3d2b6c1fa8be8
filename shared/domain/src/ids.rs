//! Identifiers. Each is a prefixed string so a wrong kind of id is visible in
//! logs and refused at the edge (`ld_` can never be passed as a `ca_`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

use crate::phone::Phone;

/// Why an id from outside was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id: expected `{prefix}` followed by 8 to 40 letters or digits")]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new time-ordered id (UUIDv7), so ids sort roughly by creation.
            pub fn new() -> Self {
                Self(format!("{}{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// Parses an id received from outside.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let rest = s.strip_prefix($prefix).ok_or(IdError { kind: $kind, prefix: $prefix })?;
                if (8..=40).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError { kind: $kind, prefix: $prefix })
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}

id_type!(
    /// A user (admin or salesperson).
    UserId, "us_", "user"
);
id_type!(
    /// One call attempt to a lead.
    CallId, "ca_", "call"
);
id_type!(
    /// One CSV import.
    ImportId, "im_", "import"
);
id_type!(
    /// A lead. Derived from the lead's phone number, so one phone can only
    /// ever be one lead and uniqueness is a conditional put, never a lookup.
    LeadId, "ld_", "lead"
);

impl LeadId {
    /// The id of the lead that owns this phone number.
    pub fn for_phone(phone: &Phone) -> Self {
        let digest = Sha256::digest(format!("ibrat-lead:{}", phone.as_str()).as_bytes());
        Self(format!("ld_{}", hex::encode(&digest[..12])))
    }

    /// A stable small number used to spread queue writes over index partitions.
    pub fn shard(&self, shards: u32) -> u32 {
        let h = self.0.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        h % shards.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::Region;

    #[test]
    fn ids_round_trip_and_refuse_the_wrong_kind() {
        let id = CallId::new();
        assert_eq!(CallId::parse(id.as_str()).unwrap(), id);
        assert!(LeadId::parse(id.as_str()).is_err());
        assert!(UserId::parse("us_").is_err());
        assert!(UserId::parse("us_abc$defgh").is_err());
        assert!(UserId::parse("us_0123456789").is_ok());
    }

    #[test]
    fn lead_id_is_a_function_of_the_phone() {
        let a = Phone::parse("+998901234567", Region::default()).unwrap();
        let b = Phone::parse("90 123 45 67", Region::default()).unwrap();
        assert_eq!(LeadId::for_phone(&a), LeadId::for_phone(&b));
        let id = LeadId::for_phone(&a);
        assert_eq!(LeadId::parse(id.as_str()).unwrap(), id);
        assert!(id.shard(8) < 8);
    }
}
