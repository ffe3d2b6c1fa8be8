//! `/api/calls/*`: listing and reading calls, dispositions, manual dials.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use ibrat_domain::bounds::Instant;
use ibrat_domain::{CallId, CallOutcome, Disposition, LeadId, UserId};
use ibrat_services::calls::{self, CallError, CallFilter};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{parse_id, ApiJson, ApiPath, ApiQuery};
use crate::auth::{AdminUser, AuthUser};
use crate::error::ApiError;
use crate::state::AppState;

/// Maps call failures to statuses.
impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::NotFound(what) => ApiError::not_found(what),
            CallError::Forbidden(m) => ApiError::forbidden(m),
            CallError::Validation(m) => ApiError::validation(m),
            CallError::Conflict(m) => ApiError::conflict(m),
            CallError::Unprocessable(m) => ApiError::unprocessable("unprocessable", m),
            CallError::Store(s) => s.into(),
            CallError::Queue(q) if q.is_retryable() => ApiError::unavailable(q),
            CallError::Queue(q) => ApiError::internal(q),
        }
    }
}

/// Filters and paging of the call list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallListQuery {
    /// Start (RFC 3339, years 2000 to 2199); default seven days before `to`.
    #[param(value_type = Option<String>)]
    pub from: Option<Instant>,
    /// End (RFC 3339, years 2000 to 2199); default now.
    #[param(value_type = Option<String>)]
    pub to: Option<Instant>,
    pub salesperson_id: Option<String>,
    pub lead_id: Option<String>,
    /// `connected`, `no_answer`, `busy`, `failed`, `machine`, `abandoned`, `canceled`.
    #[param(value_type = Option<String>)]
    pub outcome: Option<CallOutcome>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A lead to dial now.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitiateBody {
    pub lead_id: String,
}

/// What the salesperson concluded.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionBody {
    /// `interested`, `not_interested`, `call_back`, `wrong_number` or `do_not_call`.
    pub outcome: String,
    /// Required for `call_back` (RFC 3339).
    #[schema(value_type = Option<String>)]
    pub callback_at: Option<Instant>,
    pub notes: Option<String>,
}

fn disposition(b: &DispositionBody) -> Result<Disposition, ApiError> {
    Ok(match b.outcome.as_str() {
        "interested" => Disposition::Interested,
        "not_interested" => Disposition::NotInterested,
        "wrong_number" => Disposition::WrongNumber,
        "do_not_call" => Disposition::DoNotCall,
        "call_back" => Disposition::CallBack {
            at: b.callback_at.map(Instant::get).ok_or_else(|| ApiError::validation("call_back needs callback_at"))?,
        },
        _ => {
            return Err(ApiError::validation(
                "outcome must be interested, not_interested, call_back, wrong_number or do_not_call",
            ))
        }
    })
}

/// Lists calls (salespeople: their own).
#[utoipa::path(get, path = "/api/calls", tag = "calls", security(("bearer" = [])), params(CallListQuery),
    responses((status = 200, description = "A page of calls", body = serde_json::Value)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<CallListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let salesperson_id: Option<UserId> = q.salesperson_id.as_deref().map(parse_id).transpose()?;
    let lead_id: Option<LeadId> = q.lead_id.as_deref().map(parse_id).transpose()?;
    let filter = CallFilter {
        from: q.from.map(Instant::get),
        to: q.to.map(Instant::get),
        salesperson_id,
        lead_id,
        outcome: q.outcome,
    };
    Ok(Json(calls::list(&state.deps, &user.actor(), &filter, q.limit, q.cursor.as_deref()).await?))
}

/// Dials a lead now through the normal dialing path.
#[utoipa::path(post, path = "/api/calls/initiate", tag = "calls", security(("bearer" = [])), request_body = InitiateBody,
    responses((status = 202, description = "The dial is queued", body = serde_json::Value)))]
pub async fn initiate(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(b): ApiJson<InitiateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let lead_id: LeadId = parse_id(&b.lead_id)?;
    Ok((StatusCode::ACCEPTED, Json(calls::initiate(&state.deps, &admin.actor(), &lead_id).await?)))
}

/// Reads a call (404 for a salesperson when not theirs).
#[utoipa::path(get, path = "/api/calls/{id}", tag = "calls", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The call", body = serde_json::Value)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: CallId = parse_id(&id)?;
    Ok(Json(calls::get(&state.deps, &user.actor(), &id).await?))
}

/// Records the outcome of a connected call.
#[utoipa::path(post, path = "/api/calls/{id}/disposition", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = DispositionBody,
    responses((status = 200, description = "The call", body = serde_json::Value),
              (status = 422, description = "The call was not connected", body = super::ErrorBody)))]
pub async fn record_disposition(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<DispositionBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id: CallId = parse_id(&id)?;
    let d = disposition(&b)?;
    Ok(Json(calls::record_disposition(&state.deps, &user.actor(), &id, d, b.notes).await?))
}
