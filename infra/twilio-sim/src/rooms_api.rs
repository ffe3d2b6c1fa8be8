//! `Conferences` and their `Participants`: list, fetch and end rooms; add a
//! participant (a new call that joins the room once answered), list,
//! fetch, update (mute, hold, end-on-exit) and remove participants.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::Value;

use crate::courier;
use crate::errors::ApiError;
use crate::player;
use crate::request::CallRequest;
use crate::resource::{conference_json, conference_uri, participant_json, PageRequest};
use crate::rest::{admit, flag, form, sid_of, value};
use crate::room::{MemberUpdate, RoomSnapshot};
use crate::state::SimState;
use crate::twiml::{Conference, Method, RoomEvents};

/// `GET .../Conferences.json`, newest first, filtered by `FriendlyName`
/// and `Status`.
pub(crate) async fn list(
    State(state): State<SimState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let path = format!("/2010-04-01/Accounts/{account}/Conferences.json");
    admit(&state, &headers, &account, &path, false)?;
    let query = form(query.unwrap_or_default().as_bytes())?;
    let page = PageRequest::parse(&query, &["FriendlyName", "Status"]);
    let rooms: Vec<Value> = state
        .rooms()
        .iter()
        .rev()
        .filter(|r| page.filter("FriendlyName").is_none_or(|n| r.name == n))
        .filter(|r| page.filter("Status").is_none_or(|s| r.status.as_str() == s))
        .map(|r| conference_json(&account, r))
        .collect();
    Ok(Json(page.render(&path, "conferences", rooms)))
}

/// `GET .../Conferences/{Sid}.json`.
pub(crate) async fn fetch(
    State(state): State<SimState>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let room = room(&state, &headers, &account, &file)?;
    Ok(Json(conference_json(&account, &room)))
}

/// `POST .../Conferences/{Sid}.json` with `Status=completed` ends the room:
/// everyone in it is pushed out and the room reports `conference-end`.
pub(crate) async fn update(
    State(state): State<SimState>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let room = room(&state, &headers, &account, &file)?;
    let form = form(&body)?;
    match value(&form, "Status").filter(|s| !s.is_empty()) {
        None => Ok(Json(conference_json(&account, &room))),
        Some("completed") => {
            let (room, sends) = state.end_room(&room.sid, Utc::now()).ok_or(ApiError::NotFound(file))?;
            let sender = state.clone();
            tokio::spawn(async move { courier::dispatch(&sender, sends).await });
            Ok(Json(conference_json(&account, &room)))
        }
        Some(other) => Err(ApiError::InvalidParameter(format!("Status '{other}' is not completed"))),
    }
}

/// `GET .../Conferences/{Sid}/Participants.json`, filtered by `Muted`, `Hold`.
pub(crate) async fn list_participants(
    State(state): State<SimState>,
    Path((account, room_sid)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let room = room(&state, &headers, &account, &format!("{room_sid}.json"))?;
    let path = format!("/2010-04-01/Accounts/{account}/Conferences/{}/Participants.json", room.sid);
    let query = form(query.unwrap_or_default().as_bytes())?;
    let page = PageRequest::parse(&query, &["Muted", "Hold"]);
    let wanted = |name: &str, v: bool| {
        page.filter(name).is_none_or(|f| f.eq_ignore_ascii_case(if v { "true" } else { "false" }))
    };
    let members: Vec<Value> = room
        .members
        .iter()
        .filter(|m| wanted("Muted", m.muted) && wanted("Hold", m.hold))
        .map(|m| participant_json(&account, &room.sid, m))
        .collect();
    Ok(Json(page.render(&path, "participants", members)))
}

/// `POST .../Conferences/{Sid or name}/Participants.json`: calls `To` and,
/// once answered, puts the call in the room (created by name if needed).
pub(crate) async fn add_participant(
    State(state): State<SimState>,
    Path((account, room_ref)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = format!("/2010-04-01/Accounts/{account}/Conferences/{room_ref}/Participants.json");
    let hang = admit(&state, &headers, &account, &path, true)?;
    let name = if room_ref.starts_with("CF") {
        let room = state.room(&room_ref).ok_or_else(|| ApiError::NotFound(conference_uri(&account, &room_ref)))?;
        if room.status == crate::room::RoomStatus::Completed {
            return Err(ApiError::NotFound(conference_uri(&account, &room_ref)));
        }
        room.name
    } else {
        room_ref
    };
    let form = form(&body)?;
    let join = joining(&form, name)?;
    let req = CallRequest::participant(&form, join.clone())?;
    let now = Utc::now();
    let registered = state.register(&req.to, &req.from, now);
    let room_sid = state.add_ringing(&registered.sid, &req.to, &join, now);
    let member = state
        .room(&room_sid)
        .and_then(|r| r.members.into_iter().find(|m| m.call_sid == registered.sid))
        .ok_or_else(|| ApiError::NotFound(conference_uri(&account, &room_sid)))?;
    player::spawn(state.clone(), registered, req, now);
    if hang {
        tokio::time::sleep(state.config().faults.create_hang).await;
    }
    Ok((StatusCode::CREATED, Json(participant_json(&account, &room_sid, &member))).into_response())
}

/// `GET .../Participants/{CallSid}.json`.
pub(crate) async fn fetch_participant(
    State(state): State<SimState>,
    Path((account, room_sid, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let room = room(&state, &headers, &account, &format!("{room_sid}.json"))?;
    let uri = participant_uri(&account, &room.sid, &file);
    let call_sid = sid_of(&file, &uri)?;
    let member = room.members.iter().find(|m| m.call_sid == call_sid).ok_or(ApiError::NotFound(uri))?;
    Ok(Json(participant_json(&account, &room.sid, member)))
}

/// `POST .../Participants/{CallSid}.json`: `Muted`, `Hold`, `EndConferenceOnExit`.
pub(crate) async fn update_participant(
    State(state): State<SimState>,
    Path((account, room_sid, file)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let room = room(&state, &headers, &account, &format!("{room_sid}.json"))?;
    let uri = participant_uri(&account, &room.sid, &file);
    let call_sid = sid_of(&file, &uri)?;
    let form = form(&body)?;
    let update = MemberUpdate {
        muted: flag(&form, "Muted")?,
        hold: flag(&form, "Hold")?,
        end_on_exit: flag(&form, "EndConferenceOnExit")?,
    };
    let (member, sends) =
        state.update_member(&room.sid, &call_sid, &update, Utc::now()).ok_or(ApiError::NotFound(uri))?;
    let sender = state.clone();
    tokio::spawn(async move { courier::dispatch(&sender, sends).await });
    Ok(Json(participant_json(&account, &room.sid, &member)))
}

/// `DELETE .../Participants/{CallSid}.json`: pushes the call out of the
/// room (its TwiML goes on after the `<Dial>`); 204.
pub(crate) async fn remove_participant(
    State(state): State<SimState>,
    Path((account, room_sid, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let room = room(&state, &headers, &account, &format!("{room_sid}.json"))?;
    let uri = participant_uri(&account, &room.sid, &file);
    let call_sid = sid_of(&file, &uri)?;
    let sends = state.kick(&room.sid, &call_sid, Utc::now()).ok_or(ApiError::NotFound(uri))?;
    let sender = state.clone();
    tokio::spawn(async move { courier::dispatch(&sender, sends).await });
    Ok(StatusCode::NO_CONTENT)
}

/// Admits the request and finds the room `{Sid}.json` names.
fn room(state: &SimState, headers: &HeaderMap, account: &str, file: &str) -> Result<RoomSnapshot, ApiError> {
    let uri = format!("/2010-04-01/Accounts/{account}/Conferences/{file}");
    admit(state, headers, account, &uri, false)?;
    let sid = sid_of(file, &uri)?;
    state.room(&sid).ok_or_else(|| ApiError::NotFound(conference_uri(account, &sid)))
}

fn participant_uri(account: &str, room_sid: &str, file: &str) -> String {
    format!("/2010-04-01/Accounts/{account}/Conferences/{room_sid}/Participants/{file}")
}

/// How a participant added through the API joins the room.
fn joining(form: &[(String, String)], name: String) -> Result<Conference, ApiError> {
    let status_callback = match value(form, "ConferenceStatusCallback").filter(|u| !u.is_empty()) {
        Some(url) => {
            if url::Url::parse(url).ok().is_none_or(|u| !matches!(u.scheme(), "http" | "https")) {
                return Err(ApiError::BadUrl(url.to_owned()));
            }
            Some((url.to_owned(), Method::parse(value(form, "ConferenceStatusCallbackMethod"))))
        }
        None => None,
    };
    let events: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "ConferenceStatusCallbackEvent")
        .flat_map(|(_, v)| v.split_whitespace())
        .collect();
    Ok(Conference {
        name,
        start_on_enter: flag(form, "StartConferenceOnEnter")?.unwrap_or(true),
        end_on_exit: flag(form, "EndConferenceOnExit")?.unwrap_or(false),
        beep: value(form, "Beep").unwrap_or("true").to_owned(),
        wait_url: value(form, "WaitUrl").map(str::to_owned),
        muted: flag(form, "Muted")?.unwrap_or(false),
        label: value(form, "Label").filter(|l| !l.is_empty()).map(str::to_owned),
        status_callback,
        events: RoomEvents::parse(&events.join(" ")),
    })
}
