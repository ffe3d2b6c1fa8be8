//! Users: admins who run the dialer and salespeople who take its calls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::email::Email;
use crate::ids::UserId;
use crate::phone::Phone;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Salesperson,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Salesperson => "salesperson",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "salesperson" => Some(Role::Salesperson),
            _ => None,
        }
    }
}

/// Whether a salesperson can be given a call right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Offline,
    Available,
    OnCall,
    WrapUp,
    Away,
}

impl Availability {
    /// All values, for exhaustive tests and documentation.
    pub const ALL: [Availability; 5] = [
        Availability::Offline,
        Availability::Available,
        Availability::OnCall,
        Availability::WrapUp,
        Availability::Away,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Offline => "offline",
            Availability::Available => "available",
            Availability::OnCall => "on_call",
            Availability::WrapUp => "wrap_up",
            Availability::Away => "away",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The states a salesperson may choose for themselves; the others are set by
    /// the system as calls come and go.
    pub fn is_self_selectable(self) -> bool {
        matches!(self, Availability::Available | Availability::Away)
    }
}

impl std::fmt::Display for Availability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who signs in. The password hash lives only in the store's item,
/// never in this type, so it cannot leak through a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: Email,
    pub phone: Option<Phone>,
    pub role: Role,
    pub active: bool,
    pub availability: Availability,
    /// When availability last changed: the longest-idle salesperson is the
    /// available one with the oldest value here.
    pub availability_since: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
