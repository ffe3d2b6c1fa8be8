//! The REST API router. Every route is declared once, in [`ROUTES`]: the
//! router is built from that table, the role-matrix test walks it, and the
//! OpenAPI test checks the generated document lists exactly its routes, so
//! no route can exist without an access rule and a test.
//!
//! Access policy, for every resource:
//! - [`Access::Admin`]: salespeople get 403 `forbidden`, whatever the id.
//! - [`Access::Owner`]: salespeople reach only their own resource (their
//!   calls, the leads of their calls, their availability); anyone else's
//!   reads as 404 `not_found`, so ids leak nothing. Admins reach all.
//! - [`Access::Authenticated`]: any signed-in user; results are scoped to
//!   what the caller may see (a salesperson's listings show their own).
//! - [`Access::Public`]: no token needed.
//!
//! Around the routes: JSON bodies are limited to 1 MiB (413), CORS follows
//! `Config::cors_origins`, security headers go on every response, and any
//! error response that is not already JSON (axum's 404/405, the body limit)
//! is rewritten into the one error shape. A panic in a handler answers 500
//! and leaves the process serving ([`crate::panic`]).

pub mod account;
pub mod calls;
pub mod dnc;
pub mod exports;
pub mod extract;
pub mod imports;
pub mod leads;
pub mod session;
pub mod settings;
pub mod users;

use axum::extract::State;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::{Json, Router};
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::ApiError;
use crate::state::AppState;

/// Largest JSON request body.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Public,
    /// Any active user; results are scoped to the caller.
    Authenticated,
    /// A salesperson's own resource (others' read as 404), or any admin.
    Owner,
    /// Admins only (salespeople get 403).
    Admin,
}

/// One route of the API.
pub struct RouteSpec {
    pub method: Method,
    /// axum / OpenAPI path template.
    pub path: &'static str,
    pub access: Access,
    /// A streamed upload: served outside the JSON body limit, with its own
    /// limit (see `crate::api::imports::router`).
    pub upload: bool,
    make: fn() -> MethodRouter<AppState>,
}

impl RouteSpec {
    /// The route's handler.
    pub fn method_router(&self) -> MethodRouter<AppState> {
        (self.make)()
    }
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.access)
    }
}

const fn route(method: Method, path: &'static str, access: Access, make: fn() -> MethodRouter<AppState>) -> RouteSpec {
    RouteSpec { method, path, access, upload: false, make }
}

const fn upload(method: Method, path: &'static str, access: Access, make: fn() -> MethodRouter<AppState>) -> RouteSpec {
    RouteSpec { method, path, access, upload: true, make }
}

use Access::{Admin, Authenticated, Owner, Public};

/// Every route of the REST API (the imports routes are merged from
/// `crate::api::imports`). The single source for the router, the role-matrix
/// test and the OpenAPI check.
pub const ROUTES: &[RouteSpec] = &[
    route(Method::GET, "/api/health", Public, || get(health)),
    route(Method::GET, "/api/openapi.json", Public, || get(openapi_json)),
    route(Method::POST, "/api/auth/login", Public, || post(account::login)),
    route(Method::POST, "/api/auth/refresh", Public, || post(account::refresh)),
    route(Method::POST, "/api/auth/logout", Public, || post(account::logout)),
    route(Method::GET, "/api/auth/profile", Authenticated, || get(account::profile)),
    route(Method::PATCH, "/api/auth/profile", Authenticated, || patch(account::update_profile)),
    route(Method::POST, "/api/auth/password", Authenticated, || post(account::change_password)),
    route(Method::POST, "/api/auth/register", Admin, || post(account::register)),
    route(Method::GET, "/api/users", Admin, || get(users::list)),
    route(Method::GET, "/api/users/{id}", Admin, || get(users::get)),
    route(Method::PATCH, "/api/users/{id}", Admin, || patch(users::update)),
    route(Method::POST, "/api/users/{id}/deactivate", Admin, || post(users::deactivate)),
    route(Method::POST, "/api/users/{id}/password", Admin, || post(account::reset_password)),
    route(Method::GET, "/api/users/{id}/stats", Admin, || get(users::stats)),
    route(Method::PUT, "/api/users/{id}/availability", Owner, || put(users::set_availability)),
    route(Method::POST, "/api/session", Authenticated, || post(session::start)),
    route(Method::GET, "/api/session", Authenticated, || get(session::get)),
    route(Method::DELETE, "/api/session", Authenticated, || delete(session::end)),
    route(Method::POST, "/api/session/hangup", Authenticated, || post(session::hangup)),
    route(Method::GET, "/api/leads", Authenticated, || get(leads::list)),
    route(Method::POST, "/api/leads", Admin, || post(leads::create)),
    route(Method::GET, "/api/leads/stats/summary", Admin, || get(leads::summary)),
    route(Method::GET, "/api/leads/export", Admin, || get(exports::leads)),
    upload(Method::POST, "/api/leads/upload-csv", Admin, || post(imports::upload_csv)),
    route(Method::POST, "/api/leads/bulk/priority", Admin, || post(leads::bulk_priority)),
    route(Method::POST, "/api/leads/bulk/requeue", Admin, || post(leads::bulk_requeue)),
    route(Method::GET, "/api/leads/{id}", Owner, || get(leads::get)),
    route(Method::PATCH, "/api/leads/{id}", Owner, || patch(leads::update)),
    route(Method::DELETE, "/api/leads/{id}", Admin, || delete(leads::delete)),
    route(Method::GET, "/api/calls", Authenticated, || get(calls::list)),
    route(Method::POST, "/api/calls/initiate", Admin, || post(calls::initiate)),
    route(Method::GET, "/api/calls/export", Admin, || get(exports::calls)),
    route(Method::GET, "/api/calls/{id}", Owner, || get(calls::get)),
    route(Method::POST, "/api/calls/{id}/disposition", Owner, || post(calls::record_disposition)),
    route(Method::GET, "/api/dnc", Admin, || get(dnc::list)),
    route(Method::POST, "/api/dnc", Admin, || post(dnc::add)),
    route(Method::DELETE, "/api/dnc/{phone}", Admin, || delete(dnc::remove)),
    route(Method::GET, "/api/settings", Admin, || get(settings::get)),
    route(Method::PUT, "/api/settings", Admin, || put(settings::put)),
    route(Method::POST, "/api/imports", Admin, || post(imports::create)),
    route(Method::GET, "/api/imports", Admin, || get(imports::list)),
    route(Method::GET, "/api/imports/{id}", Admin, || get(imports::get)),
    route(Method::GET, "/api/imports/{id}/errors.csv", Admin, || get(imports::errors_csv)),
];

/// The REST API over `state`, with its middleware, ready to serve (local
/// mode) or to hand to `lambda_http::run` (the `api` Lambda).
pub fn router(state: AppState) -> Router {
    let mut api: Router<AppState> = Router::new();
    for r in ROUTES.iter().filter(|r| !r.upload) {
        api = api.route(r.path, (r.make)());
    }
    // The 1 MiB limit covers the JSON routes above only; uploads merged
    // below set their own.
    let api = api.layer(RequestBodyLimitLayer::new(MAX_JSON_BODY));
    // Uploads stream outside the JSON limit (see `crate::api::imports::router`).
    let api = api.merge(imports::router());
    let cors = cors_layer(&state.deps.config.cors_origins);
    api.fallback(no_route)
        .layer(cors)
        .layer(axum::middleware::map_response(json_errors))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(crate::panic::catch_panics())
        .with_state(state)
}

/// CORS for the configured origins (`*` allows any; none allows none).
fn cors_layer(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}

async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// Rewrites any error response that is not JSON (axum's 405, the body
/// limit's 413, ...) into the error shape, keeping its headers.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this route does not accept that method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "unsupported content type"),
        s if s.is_server_error() => ("internal", "something went wrong on our side"),
        _ => ("bad_request", "the request could not be handled"),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    let skip: [HeaderName; 2] = [header::CONTENT_TYPE, header::CONTENT_LENGTH];
    for (name, value) in res.headers() {
        if !skip.contains(name) {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// The error shape, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    pub message: String,
}

/// Liveness and readiness: 200 once the table answers, 503 otherwise.
#[utoipa::path(get, path = "/api/health", tag = "meta",
    responses((status = 200, description = "Ready", body = serde_json::Value),
              (status = 503, description = "The table is unreachable", body = ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.deps.store.get(&ibrat_services::repo::keys::settings()).await.map_err(ApiError::unavailable)?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

/// This API's OpenAPI 3 document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = serde_json::Value)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "Ibrat Dialer API", description = "Automated lead calling: leads, calls, salespeople, settings."),
    paths(
        health, openapi_json,
        account::login, account::refresh, account::logout, account::profile, account::update_profile,
        account::change_password, account::reset_password, account::register,
        users::list, users::get, users::update, users::deactivate, users::stats, users::set_availability,
        session::start, session::get, session::end, session::hangup,
        leads::list, leads::create, leads::summary, leads::bulk_priority, leads::bulk_requeue, leads::get,
        leads::update, leads::delete,
        calls::list, calls::initiate, calls::get, calls::record_disposition,
        dnc::list, dnc::add, dnc::remove,
        settings::get, settings::put,
        exports::leads, exports::calls,
        imports::create, imports::list, imports::get, imports::errors_csv,
        imports::upload_csv,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerScheme),
)]
pub struct ApiDoc;
