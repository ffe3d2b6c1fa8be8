//! The ledger: every call, leg and room the simulator played, as a list of
//! timestamped entries (what each number heard and when). Tests check
//! invariants against it instead of against the dialer's own records, and
//! local mode serves it at `GET /sim/ledger`.

use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// One thing that happened. `at` is the real time it happened (so entries
/// of different calls compare); `sim_secs` is the call's simulated clock.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// Order of recording, from 0.
    pub seq: u64,
    /// Real (wall-clock) time.
    pub at: DateTime<Utc>,
    /// Simulated seconds since the call was created, for call entries.
    pub sim_secs: Option<f64>,
    /// The call (leg) it concerns.
    pub call_sid: Option<String>,
    /// The phone number of that call.
    pub number: Option<String>,
    /// The room's name, for room entries.
    pub room: Option<String>,
    /// What happened: `created`, `initiated`, `ringing`, `answered`,
    /// `greeting`, `amd-verdict`, `said`, `dialed`, `joined-room`,
    /// `left-room`, `room-started`, `room-ended`, `ended`, `callback`,
    /// `rest-fault`, ...
    pub event: String,
    /// The event's particulars.
    pub detail: Value,
}

impl LedgerEntry {
    /// The entry as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "at": self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "sim_secs": self.sim_secs,
            "call_sid": self.call_sid,
            "number": self.number,
            "room": self.room,
            "event": self.event,
            "detail": self.detail,
        })
    }
}

/// What a new entry concerns (everything but its order and time).
#[derive(Debug, Clone, Default)]
pub(crate) struct Note {
    pub sim_secs: Option<f64>,
    pub call_sid: Option<String>,
    pub number: Option<String>,
    pub room: Option<String>,
}

/// The append-only list of entries.
#[derive(Default)]
pub(crate) struct Ledger {
    entries: Mutex<Vec<LedgerEntry>>,
}

impl Ledger {
    /// Appends an entry stamped with the real time now.
    pub(crate) fn record(&self, note: Note, event: &str, detail: Value) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let seq = entries.len() as u64;
        entries.push(LedgerEntry {
            seq,
            at: Utc::now(),
            sim_secs: note.sim_secs.map(|s| (s * 1000.0).round() / 1000.0),
            call_sid: note.call_sid,
            number: note.number,
            room: note.room,
            event: event.to_owned(),
            detail,
        });
    }

    /// A copy of every entry, in order.
    pub(crate) fn entries(&self) -> Vec<LedgerEntry> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
