//! `/api/leads/*`: listing, reading, creating, editing, deleting, bulk
//! changes and the summary statistics.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use ibrat_domain::{LeadId, LeadStatus, Priority};
use ibrat_services::leads::{self, LeadError, LeadFilter, LeadPatch, NewLead};
use ibrat_services::stats::{self, StatsError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{parse_id, ApiJson, ApiPath, ApiQuery};
use crate::auth::{AdminUser, AuthUser};
use crate::error::ApiError;
use crate::state::AppState;

/// Maps lead failures to statuses.
impl From<LeadError> for ApiError {
    fn from(e: LeadError) -> Self {
        match e {
            LeadError::NotFound => ApiError::not_found("lead"),
            LeadError::Forbidden(m) => ApiError::forbidden(m),
            LeadError::Validation(m) => ApiError::validation(m),
            e @ (LeadError::Phone(_) | LeadError::Email(_)) => ApiError::validation(e.to_string()),
            e @ LeadError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "lead_exists", e.to_string()),
            LeadError::Conflict(m) => ApiError::conflict(m),
            LeadError::Unprocessable(m) => ApiError::unprocessable("unprocessable", m),
            LeadError::Store(s) => s.into(),
        }
    }
}

/// Maps statistics failures to statuses.
impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        match e {
            StatsError::Forbidden(m) => ApiError::forbidden(m),
            StatsError::Store(s) => s.into(),
        }
    }
}

/// Filters and paging of the lead list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeadListQuery {
    /// A lead status such as `queued`.
    #[param(value_type = Option<String>)]
    pub status: Option<LeadStatus>,
    /// `urgent`, `high`, `medium` or `low`.
    #[param(value_type = Option<String>)]
    pub priority: Option<Priority>,
    /// Text in the name or digits in the phone.
    pub q: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A lead entered by hand.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeadBody {
    #[serde(default)]
    pub name: String,
    /// Any common format; numbers without a country code use the default region.
    pub phone: String,
    pub email: Option<String>,
    #[schema(value_type = Option<String>)]
    pub priority: Option<Priority>,
    /// IANA zone; inferred from the number when absent.
    pub timezone: Option<String>,
    pub notes: Option<String>,
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
}

/// Changes to a lead (salespeople: notes only).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadPatchBody {
    #[schema(value_type = Option<String>)]
    pub priority: Option<Priority>,
    pub notes: Option<String>,
    pub timezone: Option<String>,
    /// true lists the number as do-not-call; false lifts it and requeues.
    pub do_not_call: Option<bool>,
}

/// New priority for many leads.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkPriorityBody {
    pub ids: Vec<String>,
    #[schema(value_type = String)]
    pub priority: Priority,
}

/// Leads to queue again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkIdsBody {
    pub ids: Vec<String>,
}

/// Lists leads (salespeople: the leads of their calls).
#[utoipa::path(get, path = "/api/leads", tag = "leads", security(("bearer" = [])), params(LeadListQuery),
    responses((status = 200, description = "A page of leads", body = serde_json::Value)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<LeadListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = LeadFilter { status: q.status, priority: q.priority, q: q.q };
    Ok(Json(leads::list(&state.deps, &user.actor(), &filter, q.limit, q.cursor.as_deref()).await?))
}

/// Creates a lead.
#[utoipa::path(post, path = "/api/leads", tag = "leads", security(("bearer" = [])), request_body = NewLeadBody,
    responses((status = 201, description = "The lead", body = serde_json::Value),
              (status = 409, description = "A lead with this phone exists", body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(b): ApiJson<NewLeadBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input = NewLead {
        name: b.name,
        phone: b.phone,
        email: b.email,
        priority: b.priority,
        timezone: b.timezone,
        notes: b.notes,
        custom: b.custom,
    };
    Ok((StatusCode::CREATED, Json(leads::create(&state.deps, &admin.actor(), input).await?)))
}

/// Counts by status and priority, and today's call rates.
#[utoipa::path(get, path = "/api/leads/stats/summary", tag = "leads", security(("bearer" = [])),
    responses((status = 200, description = "The summary", body = serde_json::Value)))]
pub async fn summary(State(state): State<AppState>, admin: AdminUser) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(stats::summary(&state.deps, &admin.actor()).await?))
}

/// Sets the priority of many leads.
#[utoipa::path(post, path = "/api/leads/bulk/priority", tag = "leads", security(("bearer" = [])), request_body = BulkPriorityBody,
    responses((status = 200, description = "What changed", body = serde_json::Value)))]
pub async fn bulk_priority(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(b): ApiJson<BulkPriorityBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(leads::bulk_reprioritize(&state.deps, &admin.actor(), &b.ids, b.priority).await?))
}

/// Queues many leads to be dialed now.
#[utoipa::path(post, path = "/api/leads/bulk/requeue", tag = "leads", security(("bearer" = [])), request_body = BulkIdsBody,
    responses((status = 200, description = "What changed", body = serde_json::Value)))]
pub async fn bulk_requeue(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(b): ApiJson<BulkIdsBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(leads::bulk_requeue(&state.deps, &admin.actor(), &b.ids).await?))
}

/// Reads a lead with its calls (404 for a salesperson when not theirs).
#[utoipa::path(get, path = "/api/leads/{id}", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The lead and its calls", body = serde_json::Value)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: LeadId = parse_id(&id)?;
    Ok(Json(leads::get(&state.deps, &user.actor(), &id).await?))
}

/// Updates a lead.
#[utoipa::path(patch, path = "/api/leads/{id}", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = LeadPatchBody,
    responses((status = 200, description = "The lead", body = serde_json::Value)))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<LeadPatchBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id: LeadId = parse_id(&id)?;
    let patch = LeadPatch { priority: b.priority, notes: b.notes, timezone: b.timezone, do_not_call: b.do_not_call };
    Ok(Json(leads::update(&state.deps, &user.actor(), &id, patch).await?))
}

/// Deletes a lead.
#[utoipa::path(delete, path = "/api/leads/{id}", tag = "leads", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: LeadId = parse_id(&id)?;
    leads::delete(&state.deps, &admin.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
