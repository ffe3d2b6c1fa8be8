//! Leads as tests want them: queued at an instant, with a priority and a
//! zone, numbered so each has its own phone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ibrat_domain::{Lead, LeadId, LeadStatus, Phone, Priority, Region, UserId};
use ibrat_ports::Store;
use ibrat_services::repo;

use crate::time::ms;

/// The zone of every lead unless told otherwise.
pub const TASHKENT: &str = "Asia/Tashkent";

/// Builds a [`Lead`].
#[derive(Debug, Clone)]
pub struct LeadBuilder(Lead);

/// The phone of lead `n`: `+99890` and `n` in seven digits.
pub fn lead_phone(n: u32) -> Phone {
    Phone::parse(&format!("+99890{n:07}"), Region::default()).expect("a valid test phone")
}

/// Lead `n` ("Lead n", phone [`lead_phone`]), queued and due at `at`,
/// created then, medium priority, in Asia/Tashkent, never attempted.
pub fn lead(n: u32, at: DateTime<Utc>) -> LeadBuilder {
    let phone = lead_phone(n);
    let at = ms(at);
    LeadBuilder(Lead {
        id: LeadId::for_phone(&phone),
        name: format!("Lead {n}"),
        phone,
        email: None,
        priority: Priority::Medium,
        status: LeadStatus::Queued,
        attempts: 0,
        next_attempt_at: Some(at),
        callback: false,
        timezone: Some(TASHKENT.into()),
        notes: String::new(),
        custom: BTreeMap::new(),
        import_id: None,
        import_line: None,
        last_call_id: None,
        salesperson_id: None,
        hold_reason: None,
        created_at: at,
        updated_at: at,
        version: 1,
    })
}

impl LeadBuilder {
    pub fn priority(mut self, priority: Priority) -> Self {
        self.0.priority = priority;
        self
    }

    /// Due for a call at `at` (queued leads).
    pub fn due(mut self, at: DateTime<Utc>) -> Self {
        self.0.next_attempt_at = Some(ms(at));
        self
    }

    /// Created (and last updated) at `at`.
    pub fn created(mut self, at: DateTime<Utc>) -> Self {
        self.0.created_at = ms(at);
        self.0.updated_at = ms(at);
        self
    }

    /// An IANA zone, or none (the lead is then called in the default zone).
    pub fn zone(mut self, zone: Option<&str>) -> Self {
        self.0.timezone = zone.map(str::to_owned);
        self
    }

    /// Another status; leads that cannot be dialed get no due time.
    pub fn status(mut self, status: LeadStatus) -> Self {
        self.0.status = status;
        if !status.is_dialable() {
            self.0.next_attempt_at = None;
        }
        self
    }

    pub fn attempts(mut self, attempts: u32) -> Self {
        self.0.attempts = attempts;
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.0.name = name.to_owned();
        self
    }

    pub fn phone(mut self, phone: &str) -> Self {
        self.0.phone = Phone::parse(phone, Region::default()).unwrap_or_else(|e| panic!("{phone}: {e}"));
        self.0.id = LeadId::for_phone(&self.0.phone);
        self
    }

    pub fn notes(mut self, notes: &str) -> Self {
        self.0.notes = notes.to_owned();
        self
    }

    pub fn salesperson(mut self, id: Option<&UserId>) -> Self {
        self.0.salesperson_id = id.cloned();
        self
    }

    pub fn build(self) -> Lead {
        self.0
    }

    /// Stores the lead as a new item; returns it.
    pub async fn store(self, store: &dyn Store) -> Lead {
        let (item, condition) = repo::leads::create_op(&self.0);
        store.put(item, condition).await.expect("the test lead is stored");
        self.0
    }
}
