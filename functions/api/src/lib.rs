//! The `api` Lambda's wiring, separate from `main` so tests drive the same
//! router with real API Gateway HTTP API (payload v2) events over local
//! adapters.

use std::net::IpAddr;

use axum::extract::Request;
use axum::Router;
use ibrat_http::auth::ClientIp;
use ibrat_http::console::ConsoleConfig;
use ibrat_http::{AppState, ExportDelivery};
use ibrat_services::auth::{ensure_admin, AuthError, EnsureAdmin};
use ibrat_services::Deps;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;

/// The REST router over `deps` with the web console, as `lambda_http::run`
/// serves it; the console's WebSocket URL comes from `WS_ENDPOINT`.
/// CSV exports are written to the bucket and answered with a download
/// link: `lambda_http` buffers responses and API Gateway caps them at 6 MB.
pub fn app(deps: Deps) -> Router {
    let console = ConsoleConfig::from_ws_endpoint(std::env::var("WS_ENDPOINT").ok().as_deref());
    ibrat_http::api::router(AppState::new(deps).with_exports(ExportDelivery::Link))
        .merge(ibrat_http::console::router(console))
        .layer(axum::middleware::map_request(source_ip))
}

/// Copies the caller's address from API Gateway's request context (which
/// the client cannot write) into [`ClientIp`], where login throttling
/// reads it.
async fn source_ip(mut req: Request) -> Request {
    let ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok()),
        _ => None,
    };
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    req
}

/// Creates the first admin when `email` and `password` are both given and
/// no admin exists yet (see `ensure_admin`); None when not configured.
pub async fn bootstrap_admin(
    deps: &Deps,
    email: Option<&str>,
    password: Option<&str>,
    name: Option<&str>,
) -> Result<Option<EnsureAdmin>, AuthError> {
    let (Some(email), Some(password)) = (email.filter(|e| !e.trim().is_empty()), password.filter(|p| !p.is_empty()))
    else {
        return Ok(None);
    };
    ensure_admin(deps, email, password, name.unwrap_or("Admin")).await.map(Some)
}

/// [`bootstrap_admin`] from `IBRAT_ADMIN_EMAIL`, `IBRAT_ADMIN_PASSWORD` and
/// `IBRAT_ADMIN_NAME`.
pub async fn bootstrap_admin_from_env(deps: &Deps) -> Result<Option<EnsureAdmin>, AuthError> {
    let var = |k: &str| std::env::var(k).ok();
    bootstrap_admin(
        deps,
        var("IBRAT_ADMIN_EMAIL").as_deref(),
        var("IBRAT_ADMIN_PASSWORD").as_deref(),
        var("IBRAT_ADMIN_NAME").as_deref(),
    )
    .await
}
