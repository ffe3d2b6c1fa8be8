//! The session as clients see it (the contract's `S`).

use chrono::{DateTime, Duration, Utc};
use ibrat_domain::{AgentSession, Availability, CallId, LineState, SessionEndReason, UserId};
use serde::Serialize;

use super::error::SessionError;
use crate::context::Deps;
use crate::repo;

/// A session with the salesperson's routing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    pub user_id: UserId,
    pub line: LineState,
    pub started_at: DateTime<Utc>,
    pub line_up_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_reason: Option<SessionEndReason>,
    pub availability: Availability,
    pub availability_since: DateTime<Utc>,
    pub current_call_id: Option<CallId>,
    /// When wrap-up ends by itself (while in wrap-up).
    pub wrap_up_until: Option<DateTime<Utc>>,
}

/// The salesperson's latest session (None before their first).
pub async fn view(deps: &Deps, user: &UserId) -> Result<Option<SessionView>, SessionError> {
    let Some(session) = repo::sessions::get(deps.store.as_ref(), user).await? else {
        return Ok(None);
    };
    Ok(Some(compose(deps, session).await?))
}

/// Joins a session with the user's current routing state.
pub(crate) async fn compose(deps: &Deps, session: AgentSession) -> Result<SessionView, SessionError> {
    let (rec, current_call_id) =
        repo::users::get_with_call(deps.store.as_ref(), &session.user_id).await?.ok_or(SessionError::NotSalesperson)?;
    let user = rec.user;
    let wrap_up_until = if user.availability == Availability::WrapUp {
        let settings = repo::settings::get(deps.store.as_ref()).await?;
        Some(user.availability_since + Duration::seconds(i64::from(settings.wrap_up_secs)))
    } else {
        None
    };
    Ok(SessionView {
        user_id: session.user_id,
        line: session.line,
        started_at: session.started_at,
        line_up_at: session.line_up_at,
        ended_at: session.ended_at,
        ended_reason: session.ended_reason,
        availability: user.availability,
        availability_since: user.availability_since,
        current_call_id: current_call_id.filter(|_| user.availability == Availability::OnCall),
        wrap_up_until,
    })
}
