//! What the simulator tells its user about calls: a snapshot of each call
//! and counts per final status, for tests and the demo's summary.

use chrono::{DateTime, Utc};

/// A call's status, spelt as Twilio spells it (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimStatus {
    /// Created, not yet dialled.
    Queued,
    /// Dialling has started.
    Initiated,
    /// The lead's phone is ringing.
    Ringing,
    /// Answered and playing TwiML.
    InProgress,
    /// Answered and ended.
    Completed,
    /// The lead's line was busy.
    Busy,
    /// Rang out unanswered.
    NoAnswer,
    /// Could not be connected.
    Failed,
    /// Ended through the REST API before it was answered.
    Canceled,
}

impl SimStatus {
    /// Twilio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SimStatus::Queued => "queued",
            SimStatus::Initiated => "initiated",
            SimStatus::Ringing => "ringing",
            SimStatus::InProgress => "in-progress",
            SimStatus::Completed => "completed",
            SimStatus::Busy => "busy",
            SimStatus::NoAnswer => "no-answer",
            SimStatus::Failed => "failed",
            SimStatus::Canceled => "canceled",
        }
    }

    /// True once the call is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SimStatus::Completed | SimStatus::Busy | SimStatus::NoAnswer | SimStatus::Failed | SimStatus::Canceled
        )
    }
}

impl std::fmt::Display for SimStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for SimStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How a `<Dial>`ed leg ended (`DialCallStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialStatus {
    /// Answered, talked, hung up.
    Completed,
    /// Rang out.
    NoAnswer,
    /// The number was busy.
    Busy,
    /// The lead hung up before the number answered.
    Canceled,
    /// There was nothing to dial.
    Failed,
}

impl DialStatus {
    /// Twilio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DialStatus::Completed => "completed",
            DialStatus::NoAnswer => "no-answer",
            DialStatus::Busy => "busy",
            DialStatus::Canceled => "canceled",
            DialStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for DialStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `<Number>` a call's TwiML dialled, and how that leg ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialedNumber {
    /// The number dialled.
    pub number: String,
    /// The caller ID the `<Dial>` asked for, if any.
    pub caller_id: Option<String>,
    /// The dialled leg's SID (`DialCallSid`).
    pub dial_call_sid: String,
    /// How it ended (`DialCallStatus`).
    pub status: DialStatus,
    /// Simulated seconds of conversation (`DialCallDuration`).
    pub duration_secs: u32,
}

/// A webhook that did not answer as it should, with Twilio's error code:
/// 11200 (HTTP retrieval failure) or 12100 (document parse failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookError {
    /// The URL requested.
    pub url: String,
    /// Twilio's debugger error code.
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

/// A snapshot of one call. Times are simulated: they advance by the full
/// simulated waits whatever the time scale.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCall {
    /// Twilio's call SID (`CA` + 32 hex).
    pub sid: String,
    /// Place in creation order, from 0; the call's draws depend on it.
    pub index: u64,
    /// The lead's number.
    pub to: String,
    /// The caller ID.
    pub from: String,
    /// Current status.
    pub status: SimStatus,
    /// Machine detection's verdict, when it was asked for and the call answered.
    pub answered_by: Option<String>,
    /// Every number dialled by the call's TwiML, in order.
    pub dialed: Vec<DialedNumber>,
    /// Webhooks that failed or answered badly.
    pub webhook_errors: Vec<WebhookError>,
    /// Status callbacks sent, as `CallStatus` values in order.
    pub callbacks_sent: Vec<SimStatus>,
    /// When the call was created.
    pub date_created: DateTime<Utc>,
    /// When the call last changed.
    pub date_updated: DateTime<Utc>,
    /// When it was answered.
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// Seconds from answer to end, once ended (0 when never answered).
    pub duration_secs: Option<u32>,
}

/// Counts of calls by final status, plus those still playing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Calls created.
    pub total: usize,
    /// Calls not yet ended.
    pub playing: usize,
    /// Ended `completed`.
    pub completed: usize,
    /// Ended `busy`.
    pub busy: usize,
    /// Ended `no-answer`.
    pub no_answer: usize,
    /// Ended `failed`.
    pub failed: usize,
    /// Ended `canceled`.
    pub canceled: usize,
    /// Answered by a machine or fax, as detected.
    pub machine: usize,
    /// `<Dial>`ed legs that were answered.
    pub bridged: usize,
    /// Webhooks that failed or answered badly.
    pub webhook_errors: usize,
}

impl SimStats {
    /// Counts over a set of call snapshots.
    pub fn of(calls: &[SimCall]) -> SimStats {
        let mut s = SimStats { total: calls.len(), ..SimStats::default() };
        for call in calls {
            match call.status {
                SimStatus::Completed => s.completed += 1,
                SimStatus::Busy => s.busy += 1,
                SimStatus::NoAnswer => s.no_answer += 1,
                SimStatus::Failed => s.failed += 1,
                SimStatus::Canceled => s.canceled += 1,
                SimStatus::Queued | SimStatus::Initiated | SimStatus::Ringing | SimStatus::InProgress => s.playing += 1,
            }
            if matches!(call.answered_by.as_deref(), Some(a) if a != "human" && a != "unknown") {
                s.machine += 1;
            }
            s.bridged += call.dialed.iter().filter(|d| d.status == DialStatus::Completed).count();
            s.webhook_errors += call.webhook_errors.len();
        }
        s
    }
}
