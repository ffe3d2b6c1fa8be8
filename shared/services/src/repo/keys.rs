//! Every key and index key of the table, in one place.

use chrono::{DateTime, Utc};
use ibrat_domain::{CallId, ImportId, LeadId, LeadStatus, Role, UserId};
use ibrat_ports::Key;

/// Sort keys' fixed item marker for one-item partitions.
fn single(pk: String, sk: &str) -> Key {
    Key::new(pk, sk)
}

/// Epoch milliseconds, zero-padded to 13 digits so byte order is time order.
pub fn ms13(t: DateTime<Utc>) -> String {
    format!("{:013}", t.timestamp_millis().max(0))
}

/// The user item.
pub fn user(id: &UserId) -> Key {
    single(format!("USER#{id}"), "USER")
}

/// The item that makes an email address unique.
pub fn email(email: &str) -> Key {
    single(format!("EMAIL#{email}"), "EMAIL")
}

/// The lead item.
pub fn lead(id: &LeadId) -> Key {
    single(format!("LEAD#{id}"), "LEAD")
}

/// The call item.
pub fn call(id: &CallId) -> Key {
    single(format!("CALL#{id}"), "CALL")
}

/// A salesperson's session (their open line): one item, the latest session.
pub fn session(user: &UserId) -> Key {
    single(format!("SESSION#{user}"), "SESSION")
}

/// The link from a salesperson to one of their calls.
pub fn agent_call(user: &UserId, created: DateTime<Utc>, call: &CallId) -> Key {
    Key::new(agent_calls_pk(user), format!("{}#{call}", ms13(created)))
}

/// The partition holding a salesperson's call links.
pub fn agent_calls_pk(user: &UserId) -> String {
    format!("AGENTCALL#{user}")
}

/// A do-not-call entry.
pub fn dnc(e164: &str) -> Key {
    single(format!("DNC#{e164}"), "DNC")
}

/// The import record.
pub fn import(id: &ImportId) -> Key {
    single(format!("IMPORT#{id}"), "IMPORT")
}

/// One rejected row of an import.
pub fn import_error(id: &ImportId, line: u64) -> Key {
    Key::new(import_pk(id), format!("{IMPORT_ERROR_PREFIX}{line:010}"))
}

/// The partition holding an import's record and its rejected rows.
pub fn import_pk(id: &ImportId) -> String {
    format!("IMPORT#{id}")
}

/// Sort-key prefix of an import's rejected rows.
pub const IMPORT_ERROR_PREFIX: &str = "ERR#";

/// Blob key an import's CSV is uploaded to.
pub fn import_blob(id: &ImportId) -> String {
    format!("imports/{id}.csv")
}

/// Blob key an export is written to (`exports/<id>/<file name>`).
pub fn export_blob(id: &str, file_name: &str) -> String {
    format!("exports/{id}/{file_name}")
}

/// The settings item.
pub fn settings() -> Key {
    single("SETTINGS".into(), "SETTINGS")
}

/// A named counter.
pub fn counter(name: &str) -> Key {
    single(format!("COUNTER#{name}"), "COUNTER")
}

/// The statistics of one UTC day (`yyyy-mm-dd`).
pub fn daily_stats(day: &str) -> Key {
    single(format!("STATS#{day}"), "STATS")
}

/// The pacing state (calls in flight).
pub fn pacing() -> Key {
    single("PACING".into(), "PACING")
}

/// The call-rate slot of one epoch second.
pub fn rate_slot(epoch_second: i64) -> Key {
    single(format!("RATE#{epoch_second}"), "RATE")
}

/// A refresh token.
pub fn refresh_token(token_id: &str) -> Key {
    single(format!("REFRESH#{token_id}"), "REFRESH")
}

/// A refresh-token family (all rotations of one login).
pub fn refresh_family(family_id: &str) -> Key {
    single(format!("RFAMILY#{family_id}"), "RFAMILY")
}

/// Login throttling state for an account or a client address.
pub fn throttle(subject: &str) -> Key {
    single(format!("THROTTLE#{subject}"), "THROTTLE")
}

/// A WebSocket connection.
pub fn connection(connection_id: &str) -> Key {
    single(format!("CONN#{connection_id}"), "CONN")
}

/// gsi1 partition listing users.
pub const USERS_PK: &str = "USERS";
/// gsi1 sort key of a user.
pub fn users_sk(role: Role, created: DateTime<Utc>, id: &UserId) -> String {
    format!("{}#{}#{id}", role.as_str(), ms13(created))
}

/// gsi3 partition of available salespeople, oldest availability first.
pub const AVAILABLE_PK: &str = "AVAILABLE";
/// gsi3 sort key of an available salesperson.
pub fn available_sk(since: DateTime<Utc>, id: &UserId) -> String {
    format!("{}#{id}", ms13(since))
}

/// gsi1 partition listing leads of one status.
pub fn leads_by_status_pk(status: LeadStatus) -> String {
    format!("LEADS#{}", status.as_str())
}

/// gsi1 (or gsi3) sort key ordering by creation time.
pub fn created_sk(created: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", ms13(created))
}

/// gsi2 partition of one dial-queue shard.
pub fn queue_pk(shard: u32) -> String {
    format!("QUEUE#{shard}")
}

/// gsi2 sort key: due callbacks first, then priority, due time, age.
pub fn queue_sk(callback: bool, priority_rank: u8, due: DateTime<Utc>, created: DateTime<Utc>, id: &LeadId) -> String {
    let class = if callback { 0 } else { 1 };
    if callback {
        format!("0#{}#{}#{id}", ms13(due), ms13(created))
    } else {
        format!("{class}{priority_rank}#{}#{}#{id}", ms13(due), ms13(created))
    }
}

/// gsi1 partition of calls created on one UTC day.
pub fn calls_by_day_pk(day: &str) -> String {
    format!("CALLS#{day}")
}

/// gsi3 partition of a lead's calls.
pub fn lead_calls_pk(lead: &LeadId) -> String {
    format!("LEADCALLS#{lead}")
}

/// gsi1 partition of the do-not-call list.
pub const DNC_PK: &str = "DNC";
/// gsi1 partition of imports.
pub const IMPORTS_PK: &str = "IMPORTS";
/// gsi3 partition of running imports, least recent progress first.
pub const RUNNING_IMPORTS_PK: &str = "RUNNING_IMPORTS";

/// gsi1 partition of connections by role.
pub fn connections_by_role_pk(role: Role) -> String {
    format!("CONNS#{}", role.as_str())
}

/// gsi3 partition of one user's connections.
pub fn user_connections_pk(user: &UserId) -> String {
    format!("USERCONN#{user}")
}

/// The UTC day of an instant, as used in day-partitioned keys.
pub fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}
