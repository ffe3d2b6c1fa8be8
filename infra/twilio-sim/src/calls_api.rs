//! `Calls`: create (and start playing), list, fetch, and update: end with
//! `Status=canceled|completed`, or move a live call with `Url` or `Twiml`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::ledger::Note;
use crate::player;
use crate::request::{CallRequest, Voice};
use crate::resource::{call_json, call_uri, PageRequest};
use crate::rest::{admit, form, sid_of, value};
use crate::state::{EndRequest, NotInProgress, SimState};
use crate::twiml::Method;

/// `POST .../Calls.json`: validates, answers `queued` and starts playing.
/// An injected time-out places the call and answers only after the
/// client has given up.
pub(crate) async fn create(
    State(state): State<SimState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let hang = admit(&state, &headers, &account, &format!("/2010-04-01/Accounts/{account}/Calls.json"), true)?;
    let req = CallRequest::parse(&form(&body)?)?;
    let now = Utc::now();
    let registered = state.register(&req.to, &req.from, now);
    let call = state.call(&registered.sid).ok_or_else(|| ApiError::NotFound(registered.sid.clone()))?;
    tracing::info!(call_sid = %call.sid, to = %call.to, "simulated call created");
    player::spawn(state.clone(), registered, req, now);
    if hang {
        let note = Note { call_sid: Some(call.sid.clone()), number: Some(call.to.clone()), ..Note::default() };
        let hang_for = state.config().faults.create_hang;
        state.ledger().record(
            note,
            "rest-fault",
            json!({"fault": "create-timeout", "hang_ms": hang_for.as_millis() as u64}),
        );
        tokio::time::sleep(hang_for).await;
    }
    Ok((StatusCode::CREATED, Json(call_json(&account, &call))).into_response())
}

/// `GET .../Calls.json`, newest first, filtered by `To`, `From`, `Status`.
pub(crate) async fn list(
    State(state): State<SimState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let path = format!("/2010-04-01/Accounts/{account}/Calls.json");
    admit(&state, &headers, &account, &path, false)?;
    let query = form(query.unwrap_or_default().as_bytes())?;
    let page = PageRequest::parse(&query, &["To", "From", "Status"]);
    let calls: Vec<Value> = state
        .calls()
        .iter()
        .rev()
        .filter(|c| page.filter("To").is_none_or(|to| c.to == to))
        .filter(|c| page.filter("From").is_none_or(|from| c.from == from))
        .filter(|c| page.filter("Status").is_none_or(|s| c.status.as_str() == s))
        .map(|c| call_json(&account, c))
        .collect();
    Ok(Json(page.render(&path, "calls", calls)))
}

/// `GET .../Calls/{Sid}.json`.
pub(crate) async fn fetch(
    State(state): State<SimState>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let uri = format!("/2010-04-01/Accounts/{account}/Calls/{file}");
    admit(&state, &headers, &account, &uri, false)?;
    let sid = sid_of(&file, &uri)?;
    let call = state.call(&sid).ok_or_else(|| ApiError::NotFound(call_uri(&account, &sid)))?;
    Ok(Json(call_json(&account, &call)))
}

/// `POST .../Calls/{Sid}.json`: `Status=canceled|completed` ends the call;
/// otherwise `Url` (with `Method`) or `Twiml` replaces what a live call is
/// doing, as Twilio's live call modification does.
pub(crate) async fn update(
    State(state): State<SimState>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let uri = format!("/2010-04-01/Accounts/{account}/Calls/{file}");
    admit(&state, &headers, &account, &uri, false)?;
    let sid = sid_of(&file, &uri)?;
    let form = form(&body)?;
    let not_found = || ApiError::NotFound(call_uri(&account, &sid));
    let end = match value(&form, "Status").filter(|s| !s.is_empty()) {
        Some("canceled") => Some(EndRequest::Cancel),
        Some("completed") => Some(EndRequest::Complete),
        Some(other) => {
            return Err(ApiError::InvalidParameter(format!("Status '{other}' is not canceled or completed")))
        }
        None => None,
    };
    if let Some(request) = end {
        let call = state.end(&sid, request, Utc::now()).ok_or_else(not_found)?;
        return Ok(Json(call_json(&account, &call)));
    }
    let voice = match (value(&form, "Url").filter(|u| !u.is_empty()), value(&form, "Twiml").filter(|t| !t.is_empty())) {
        (Some(url), _) => {
            let parsed = url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if parsed.is_none() {
                return Err(ApiError::BadUrl(url.to_owned()));
            }
            Some(Voice::Url { url: url.to_owned(), method: Method::parse(value(&form, "Method")) })
        }
        (None, Some(twiml)) => Some(Voice::Twiml(twiml.to_owned())),
        (None, None) => None,
    };
    let call = match voice {
        Some(voice) => match state.redirect(&sid, voice, Utc::now()) {
            Ok(call) => call.ok_or_else(not_found)?,
            Err(NotInProgress) => {
                return Err(if state.call(&sid).is_some() { ApiError::NotInProgress } else { not_found() });
            }
        },
        None => state.call(&sid).ok_or_else(not_found)?,
    };
    Ok(Json(call_json(&account, &call)))
}
