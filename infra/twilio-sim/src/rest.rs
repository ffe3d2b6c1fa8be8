//! The REST API's routes and what every request shares: HTTP basic auth,
//! the account in the path, form and query parsing, and the injected
//! 5xx faults. The handlers live in `calls_api` and `rooms_api`.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::errors::ApiError;
use crate::faults::{FaultDice, RestFate};
use crate::state::SimState;
use crate::{calls_api, rooms_api};

/// The simulator's REST API (and its ledger at `/sim/ledger`) as a router,
/// to serve or mount in-process.
pub fn router(state: SimState) -> Router {
    const ACCOUNT: &str = "/2010-04-01/Accounts/{account}";
    Router::new()
        .route(&format!("{ACCOUNT}/Calls.json"), get(calls_api::list).post(calls_api::create))
        .route(&format!("{ACCOUNT}/Calls/{{file}}"), get(calls_api::fetch).post(calls_api::update))
        .route(&format!("{ACCOUNT}/Conferences.json"), get(rooms_api::list))
        .route(&format!("{ACCOUNT}/Conferences/{{file}}"), get(rooms_api::fetch).post(rooms_api::update))
        .route(
            &format!("{ACCOUNT}/Conferences/{{room}}/Participants.json"),
            get(rooms_api::list_participants).post(rooms_api::add_participant),
        )
        .route(
            &format!("{ACCOUNT}/Conferences/{{room}}/Participants/{{file}}"),
            get(rooms_api::fetch_participant).post(rooms_api::update_participant).delete(rooms_api::remove_participant),
        )
        .merge(ledger_router(state.clone()))
        .with_state(state)
}

/// `GET /sim/ledger` alone, for local mode to mount beside its own routes.
pub fn ledger_router<S: Clone + Send + Sync + 'static>(state: SimState) -> Router<S> {
    Router::new().route("/sim/ledger", get(ledger)).with_state(state)
}

async fn ledger(State(state): State<SimState>) -> Json<serde_json::Value> {
    Json(state.ledger_json())
}

/// Checks credentials and the account, then draws the request's fault:
/// an injected 5xx is answered before anything happens. Returns whether
/// a create should hang after acting.
pub(crate) fn admit(
    state: &SimState,
    headers: &HeaderMap,
    account: &str,
    uri: &str,
    creates: bool,
) -> Result<bool, ApiError> {
    authorize(state, headers, account, uri)?;
    let config = state.config();
    let fate = FaultDice::new(config.seed, 4, state.next_request()).rest(&config.faults, creates);
    match fate {
        RestFate::ServerError(status) => {
            state.ledger().record(
                crate::ledger::Note::default(),
                "rest-fault",
                serde_json::json!({"uri": uri, "status": status}),
            );
            Err(ApiError::ServerError(status))
        }
        RestFate::Hang => Ok(true),
        RestFate::Normal => Ok(false),
    }
}

/// The SID in a `{Sid}.json` path segment.
pub(crate) fn sid_of(file: &str, uri: &str) -> Result<String, ApiError> {
    file.strip_suffix(".json")
        .filter(|sid| !sid.is_empty())
        .map(str::to_owned)
        .ok_or(ApiError::NotFound(uri.to_owned()))
}

/// Basic auth must name this account with its token, and the path must be
/// this account's.
fn authorize(state: &SimState, headers: &HeaderMap, account: &str, uri: &str) -> Result<(), ApiError> {
    let config = state.config();
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let authentic = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(user, token)| user == config.account_sid && token == config.auth_token);
    if !authentic {
        return Err(ApiError::Unauthenticated);
    }
    if account != config.account_sid {
        return Err(ApiError::NotFound(uri.to_owned()));
    }
    Ok(())
}

/// A form-encoded body (or query string) as name/value pairs, repeated names kept.
pub(crate) fn form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|e| ApiError::InvalidParameter(format!("unreadable form: {e}")))
}

/// The first value of `name` in a form, trimmed.
pub(crate) fn value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

/// A boolean form value (`true`/`false`, any case); 20001 otherwise.
pub(crate) fn flag(form: &[(String, String)], name: &str) -> Result<Option<bool>, ApiError> {
    match value(form, name) {
        None | Some("") => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(ApiError::InvalidParameter(format!("{name} must be true or false, not '{v}'"))),
    }
}
