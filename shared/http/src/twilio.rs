//! Twilio's webhooks: `POST /twilio/voice` (the lead answered),
//! `/twilio/status` (the lead's call progress), `/twilio/agent` (a
//! salesperson answered their session's call), `/twilio/agent-status` (their
//! leg's progress) and `/twilio/conference` (the rooms' start, end, join and
//! leave). Served by the `twilio-webhook` Lambda (function URL) and by local
//! mode.
//!
//! Every request is authenticated before anything else happens: the full
//! public URL Twilio requested (`{public_url}{path}?{query}`) and the form
//! parameters are signed with the account's auth token (`X-Twilio-Signature`);
//! a missing or wrong signature gets 403 and changes nothing. The call flow
//! itself lives in `ibrat_services::callflow`; this module only parses,
//! authenticates and renders decisions as TwiML.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use ibrat_domain::{AnsweredBy, CallId, UserId};
use ibrat_services::callflow::{
    self, CallflowError, StatusOutcome, StatusUpdate, TwilioCallStatus, VoiceDecision, VoiceInput,
};
use ibrat_services::sessions::{
    self, AgentVoiceDecision, ConferenceEvent, ConferenceEventKind, SessionError, SessionRef,
};
use ibrat_services::Deps;
use ibrat_twilio::twiml;
use tracing::Instrument;

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying Twilio's request signature.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The Twilio webhook routes (paths are absolute: `/twilio/...`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/twilio/voice", post(voice))
        .route("/twilio/status", post(status))
        .route("/twilio/agent", post(agent))
        .route("/twilio/agent-status", post(agent_status))
        .route("/twilio/conference", post(conference))
        // Last, so it covers every route above.
        .layer(crate::panic::catch_panics())
}

/// Why a webhook request was refused or failed, each with its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// 403: no `X-Twilio-Signature` header.
    #[error("missing Twilio signature")]
    MissingSignature,
    /// 403: the signature does not match the URL and parameters.
    #[error("invalid Twilio signature")]
    BadSignature,
    /// 400: the body is not a form.
    #[error("malformed form body: {0}")]
    MalformedBody(String),
    /// 400: `call_id` is missing from the query or not a call id.
    #[error("missing or malformed call_id")]
    BadCallId,
    /// 400: `user_id` or `session` is missing from the query or malformed.
    #[error("missing or malformed user_id or session")]
    BadSessionRef,
    /// 400: a parameter Twilio always sends is missing.
    #[error("missing parameter {0}")]
    MissingParam(&'static str),
    /// 503 when retrying may help, 500 otherwise.
    #[error(transparent)]
    Flow(#[from] CallflowError),
    /// 503 when retrying may help, 500 otherwise.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::MissingSignature | WebhookError::BadSignature => ApiError::forbidden(e.to_string()),
            WebhookError::MalformedBody(_)
            | WebhookError::BadCallId
            | WebhookError::BadSessionRef
            | WebhookError::MissingParam(_) => ApiError::validation(e.to_string()),
            WebhookError::Flow(flow) if flow.is_retryable() => ApiError::unavailable(flow),
            WebhookError::Flow(flow) => ApiError::internal(flow),
            WebhookError::Session(s) if s.is_retryable() => ApiError::unavailable(s),
            WebhookError::Session(s) => ApiError::internal(s),
        }
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// A request whose signature checked out.
#[derive(Debug)]
struct Signed {
    /// The form parameters.
    params: Vec<(String, String)>,
    /// The query parameters.
    query: Vec<(String, String)>,
    /// The public base the request came to, for the URLs we answer with.
    base: String,
}

impl Signed {
    fn param(&self, name: &str) -> Option<&str> {
        lookup(&self.params, name)
    }

    fn call_id(&self) -> Result<CallId, WebhookError> {
        let raw = lookup(&self.query, "call_id").ok_or(WebhookError::BadCallId)?;
        CallId::parse(raw).map_err(|_| WebhookError::BadCallId)
    }

    fn session_ref(&self) -> Result<SessionRef, WebhookError> {
        let user = lookup(&self.query, sessions::USER_PARAM).ok_or(WebhookError::BadSessionRef)?;
        let user_id = UserId::parse(user).map_err(|_| WebhookError::BadSessionRef)?;
        let started = lookup(&self.query, sessions::SESSION_PARAM).ok_or(WebhookError::BadSessionRef)?;
        let started_ms = started.parse().map_err(|_| WebhookError::BadSessionRef)?;
        Ok(SessionRef { user_id, started_ms })
    }

    fn required(&self, name: &'static str) -> Result<&str, WebhookError> {
        self.param(name).filter(|v| !v.trim().is_empty()).ok_or(WebhookError::MissingParam(name))
    }

    fn call_sid(&self) -> Option<String> {
        self.param("CallSid").filter(|s| !s.is_empty()).map(str::to_owned)
    }

    fn number(&self, name: &str) -> Option<u32> {
        self.param(name).and_then(|v| v.trim().parse().ok())
    }

    fn answered_by(&self) -> Option<AnsweredBy> {
        self.param("AnsweredBy").filter(|v| !v.trim().is_empty()).map(|v| AnsweredBy::from_twilio(v.trim()))
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The URL Twilio requested, as it signed it: the configured public base
/// plus the path and raw query exactly as received. With no base configured
/// (a Lambda function URL cannot know its own address at deploy time), the
/// request's own `Host` is used; that is safe because the signature, keyed
/// with the auth token, covers the whole URL either way.
fn public_url(deps: &Deps, uri: &axum::http::Uri, headers: &HeaderMap) -> String {
    let path_and_query = uri.path_and_query().map_or_else(|| uri.path(), |pq| pq.as_str());
    format!("{}{path_and_query}", public_base(deps, uri, headers))
}

/// The public base (`scheme://host`) Twilio reaches us on: the configured
/// one, else the request's own host (see [`public_url`]).
fn public_base(deps: &Deps, uri: &axum::http::Uri, headers: &HeaderMap) -> String {
    let base = deps.config.public_url.trim_end_matches('/');
    if !base.is_empty() {
        return base.to_owned();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let host = header(header::HOST.as_str()).or_else(|| uri.authority().map(|a| a.as_str())).unwrap_or_default();
    let scheme = header("x-forwarded-proto").unwrap_or("https");
    format!("{scheme}://{host}")
}

/// Authenticates a request: signature header present, form body readable,
/// signature valid over the public URL and the parameters. Nothing is read
/// from the store before this passes.
fn verify(deps: &Deps, uri: &axum::http::Uri, headers: &HeaderMap, body: &[u8]) -> Result<Signed, WebhookError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(WebhookError::MissingSignature)?;
    let params: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| WebhookError::MalformedBody(e.to_string()))?;
    let url = public_url(deps, uri, headers);
    let token = deps.config.twilio_auth_token.expose();
    if token.is_empty() || !ibrat_twilio::signature::validate(token, &url, &params, signature) {
        tracing::warn!(url = %url, "refused a Twilio request with a bad signature");
        return Err(WebhookError::BadSignature);
    }
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    Ok(Signed { params, query, base: public_base(deps, uri, headers) })
}

/// A TwiML answer.
fn xml(body: String) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    res
}

async fn voice(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let deps = &state.deps;
    let req = verify(deps, &uri, &headers, &body)?;
    let call_id = req.call_id()?;
    let span = tracing::info_span!("twilio_voice", call_id = %call_id, call_sid = req.call_sid().unwrap_or_default());
    async {
        let input = VoiceInput { answered_by: req.answered_by(), call_sid: req.call_sid() };
        let decision = callflow::on_voice(deps, &call_id, input).await?;
        tracing::info!(?decision, "voice answered");
        Ok(xml(render_voice(&req.base, &decision)))
    }
    .instrument(span)
    .await
}

async fn status(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let deps = &state.deps;
    let req = verify(deps, &uri, &headers, &body)?;
    let call_id = req.call_id()?;
    let span = tracing::info_span!("twilio_status", call_id = %call_id, call_sid = req.call_sid().unwrap_or_default());
    async {
        let raw = req.param("CallStatus").ok_or(WebhookError::MissingParam("CallStatus"))?;
        let Some(call_status) = TwilioCallStatus::parse(raw) else {
            tracing::warn!(status = raw, "unknown Twilio call status; acknowledged");
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        let update = StatusUpdate {
            call_status,
            sequence: req.number("SequenceNumber"),
            duration: req.number("CallDuration"),
            answered_by: req.answered_by(),
            call_sid: req.call_sid(),
        };
        let outcome = callflow::on_status(deps, &call_id, update).await?;
        tracing::info!(?outcome, "status handled");
        Ok(match outcome {
            StatusOutcome::UnknownCall => StatusCode::OK.into_response(),
            _ => StatusCode::NO_CONTENT.into_response(),
        })
    }
    .instrument(span)
    .await
}

async fn agent(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let deps = &state.deps;
    let req = verify(deps, &uri, &headers, &body)?;
    let session = req.session_ref()?;
    let sid = req.required("CallSid")?.to_owned();
    let span = tracing::info_span!("twilio_agent", user_id = %session.user_id, call_sid = %sid);
    async {
        let decision = sessions::on_agent_voice(deps, &session, &sid).await?;
        tracing::info!(?decision, "salesperson's leg answered");
        Ok(xml(match decision {
            AgentVoiceDecision::JoinRoom { room } => twiml::agent_room(&room, &conference_url(&req.base)),
            AgentVoiceDecision::Hangup => render_goodbye(None),
        }))
    }
    .instrument(span)
    .await
}

async fn agent_status(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let deps = &state.deps;
    let req = verify(deps, &uri, &headers, &body)?;
    let session = req.session_ref()?;
    let sid = req.required("CallSid")?.to_owned();
    let span = tracing::info_span!("twilio_agent_status", user_id = %session.user_id, call_sid = %sid);
    async {
        let status = req.required("CallStatus")?;
        let ended = sessions::on_agent_status(deps, &session, &sid, status).await?;
        tracing::info!(status, ?ended, "salesperson's leg status handled");
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .instrument(span)
    .await
}

async fn conference(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let deps = &state.deps;
    let req = verify(deps, &uri, &headers, &body)?;
    let room = req.required("FriendlyName")?.to_owned();
    let event = req.required("StatusCallbackEvent")?.to_owned();
    let span = tracing::info_span!("twilio_conference", room = %room, event = %event, call_sid = req.call_sid().unwrap_or_default());
    async {
        let ev = ConferenceEvent { room, kind: ConferenceEventKind::from_twilio(&event), call_sid: req.call_sid() };
        let outcome = sessions::on_conference_event(deps, &ev).await?;
        tracing::info!(?outcome, "conference event handled");
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .instrument(span)
    .await
}

/// Where rooms report their events, under the public base.
pub fn conference_url(base: &str) -> String {
    format!("{}/twilio/conference", base.trim_end_matches('/'))
}

/// TwiML for a voice decision; `base` is the public base URL.
pub fn render_voice(base: &str, decision: &VoiceDecision) -> String {
    match decision {
        VoiceDecision::JoinRoom(join) => twiml::lead_room(&join.room, &conference_url(base)),
        VoiceDecision::Machine { voicemail } => render_goodbye(voicemail.as_deref()),
        VoiceDecision::Abandon { message } => render_goodbye(Some(message)),
        VoiceDecision::Hangup { .. } => render_goodbye(None),
    }
}

fn render_goodbye(say: Option<&str>) -> String {
    twiml::goodbye(say)
}
