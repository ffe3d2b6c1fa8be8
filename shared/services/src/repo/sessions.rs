//! Salespeople's sessions in the table: one `SESSION#<user_id>` item holding
//! the latest session, replaced when a new one starts after the last ended.
//! Every change is conditioned on the version read, so a duplicated or late
//! Twilio callback can never undo a newer change.

use chrono::{DateTime, Utc};
use ibrat_domain::{AgentSession, LineState, SessionEndReason, UserId};
use ibrat_ports::{Condition, Item, Store, StoreError, Update, Value, WriteOp};

use super::codec::{get_ts, req_enum, req_parse, req_ts, ts};
use super::keys;

const LINE: &str = "line";
const VERSION: &str = "version";

/// Builds the session item.
pub fn to_item(s: &AgentSession) -> Item {
    Item::with_key(&keys::session(&s.user_id))
        .with("user_id", s.user_id.as_str())
        .with(LINE, s.line.as_str())
        .with("started_at", ts(s.started_at))
        .with_opt("line_up_at", s.line_up_at.map(ts))
        .with_opt("ended_at", s.ended_at.map(ts))
        .with_opt("ended_reason", s.ended_reason.map(|r| r.as_str()))
        .with_opt("agent_call_sid", s.agent_call_sid.as_deref())
        .with(VERSION, s.version)
}

/// Reads a session item.
pub fn from_item(item: &Item) -> Result<AgentSession, StoreError> {
    let ended_reason = match item.s("ended_reason") {
        None => None,
        Some(_) => Some(req_enum(item, "ended_reason", SessionEndReason::parse)?),
    };
    Ok(AgentSession {
        user_id: req_parse(item, "user_id", UserId::parse)?,
        line: req_enum(item, LINE, LineState::parse)?,
        started_at: req_ts(item, "started_at")?,
        line_up_at: get_ts(item, "line_up_at"),
        ended_at: get_ts(item, "ended_at"),
        ended_reason,
        agent_call_sid: item.s("agent_call_sid").map(str::to_owned),
        version: item.n(VERSION).unwrap_or(0).max(0) as u64,
    })
}

/// Reads a salesperson's latest session.
pub async fn get(store: &dyn Store, user: &UserId) -> Result<Option<AgentSession>, StoreError> {
    store.get(&keys::session(user)).await?.map(|i| from_item(&i)).transpose()
}

/// Starts `session` (connecting), only if there is no open one: no item yet,
/// or the last session ended.
pub fn start_op(session: &AgentSession) -> WriteOp {
    let none_open = Condition::Or(vec![Condition::not_exists(), Condition::eq(LINE, LineState::Ended.as_str())]);
    WriteOp::Put { item: to_item(session), condition: Some(none_open) }
}

/// The condition "the item is still the session as read".
fn same_version(session: &AgentSession) -> Condition {
    Condition::Eq(VERSION.into(), Value::N(session.version as i64))
}

/// Records the SID of the salesperson's leg (once).
pub fn set_sid_op(session: &mut AgentSession, sid: &str) -> WriteOp {
    let op = WriteOp::Update {
        key: keys::session(&session.user_id),
        update: Update::new().set("agent_call_sid", sid).set(VERSION, session.version + 1),
        condition: Some(same_version(session)),
    };
    session.agent_call_sid = Some(sid.to_owned());
    session.version += 1;
    op
}

/// The line came up (their participant-join was seen).
pub fn line_up_op(session: &mut AgentSession, now: DateTime<Utc>) -> WriteOp {
    let op = WriteOp::Update {
        key: keys::session(&session.user_id),
        update: Update::new()
            .set(LINE, LineState::Up.as_str())
            .set("line_up_at", ts(now))
            .set(VERSION, session.version + 1),
        condition: Some(same_version(session).and(Condition::eq(LINE, LineState::Connecting.as_str()))),
    };
    session.line = LineState::Up;
    session.line_up_at = Some(now);
    session.version += 1;
    op
}

/// Ends the session for `reason`.
pub fn end_op(session: &mut AgentSession, reason: SessionEndReason, now: DateTime<Utc>) -> WriteOp {
    let op = WriteOp::Update {
        key: keys::session(&session.user_id),
        update: Update::new()
            .set(LINE, LineState::Ended.as_str())
            .set("ended_at", ts(now))
            .set("ended_reason", reason.as_str())
            .set(VERSION, session.version + 1),
        condition: Some(same_version(session).and(Condition::Exists(LINE.into()))),
    };
    session.line = LineState::Ended;
    session.ended_at = Some(now);
    session.ended_reason = Some(reason);
    session.version += 1;
    op
}

/// A check, inside a transaction, that the salesperson's line is up: a
/// claim or a return to ready holds only for a routable salesperson.
pub fn line_is_up(user: &UserId) -> WriteOp {
    WriteOp::Check { key: keys::session(user), condition: Condition::eq(LINE, LineState::Up.as_str()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let mut s = AgentSession::connecting(UserId::new(), now);
        assert_eq!(from_item(&to_item(&s)).unwrap(), s);
        s.line = LineState::Ended;
        s.line_up_at = Some(now);
        s.ended_at = Some(now);
        s.ended_reason = Some(SessionEndReason::AgentHungUp);
        s.agent_call_sid = Some("CA1".into());
        s.version = 4;
        assert_eq!(from_item(&to_item(&s)).unwrap(), s);
    }
}
