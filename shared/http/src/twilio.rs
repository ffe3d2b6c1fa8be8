//! Twilio's webhooks: `POST /twilio/voice` (the lead answered),
//! `/twilio/status` (call progress) and `/twilio/dial` (the salesperson's
//! leg ended). Served by the `twilio-webhook` Lambda (function URL) and by
//! local mode.
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
use ibrat_domain::{AnsweredBy, CallId};
use ibrat_services::callflow::{
    self, Bridge, CallflowError, DialCallStatus, DialDecision, DialResult, StatusOutcome, StatusUpdate,
    TwilioCallStatus, VoiceDecision, VoiceInput,
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
        .route("/twilio/dial", post(dial))
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
    /// 400: a parameter Twilio always sends is missing.
    #[error("missing parameter {0}")]
    MissingParam(&'static str),
    /// 503 when retrying may help, 500 otherwise.
    #[error(transparent)]
    Flow(#[from] CallflowError),
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::MissingSignature | WebhookError::BadSignature => ApiError::forbidden(e.to_string()),
            WebhookError::MalformedBody(_) | WebhookError::BadCallId | WebhookError::MissingParam(_) => {
                ApiError::validation(e.to_string())
            }
            WebhookError::Flow(flow) if flow.is_retryable() => ApiError::unavailable(flow),
            WebhookError::Flow(flow) => ApiError::internal(flow),
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
}

impl Signed {
    fn param(&self, name: &str) -> Option<&str> {
        lookup(&self.params, name)
    }

    fn call_id(&self) -> Result<CallId, WebhookError> {
        let raw = lookup(&self.query, "call_id").ok_or(WebhookError::BadCallId)?;
        CallId::parse(raw).map_err(|_| WebhookError::BadCallId)
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
    let base = deps.config.public_url.trim_end_matches('/');
    if !base.is_empty() {
        return format!("{base}{path_and_query}");
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let host = header(header::HOST.as_str()).or_else(|| uri.authority().map(|a| a.as_str())).unwrap_or_default();
    let scheme = header("x-forwarded-proto").unwrap_or("https");
    format!("{scheme}://{host}{path_and_query}")
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
    Ok(Signed { params, query })
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
        let decision = callflow::on_voice(deps, &call_id, VoiceInput { answered_by: req.answered_by() }).await?;
        tracing::info!(?decision, "voice answered");
        Ok(xml(render_voice(deps, &call_id, &decision)))
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

async fn dial(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let deps = &state.deps;
    let req = verify(deps, &uri, &headers, &body)?;
    let call_id = req.call_id()?;
    let span = tracing::info_span!("twilio_dial", call_id = %call_id, call_sid = req.call_sid().unwrap_or_default());
    async {
        let raw = req.param("DialCallStatus").ok_or(WebhookError::MissingParam("DialCallStatus"))?;
        let result = DialResult {
            dial_call_status: DialCallStatus::from_twilio(raw),
            dial_call_duration: req.number("DialCallDuration"),
            attempt: lookup(&req.query, callflow::ATTEMPT_PARAM).and_then(|v| v.parse().ok()),
        };
        let decision = callflow::on_dial_action(deps, &call_id, result).await?;
        tracing::info!(?decision, "dial action answered");
        Ok(xml(render_dial(deps, &call_id, &decision)))
    }
    .instrument(span)
    .await
}

/// The `<Dial action>` URL for a bridge attempt.
pub fn dial_action_url(public_url: &str, call_id: &CallId, attempt: u32) -> String {
    format!("{}/twilio/dial?call_id={call_id}&{}={attempt}", public_url.trim_end_matches('/'), callflow::ATTEMPT_PARAM)
}

/// TwiML for a voice decision.
pub fn render_voice(deps: &Deps, call_id: &CallId, decision: &VoiceDecision) -> String {
    match decision {
        VoiceDecision::BridgeTo(bridge) => render_bridge(deps, call_id, bridge),
        VoiceDecision::Machine { voicemail } => render_goodbye(voicemail.as_deref()),
        VoiceDecision::Abandon { message } => render_goodbye(Some(message)),
        VoiceDecision::Hangup { .. } => render_goodbye(None),
    }
}

/// TwiML for a dial-action decision.
pub fn render_dial(deps: &Deps, call_id: &CallId, decision: &DialDecision) -> String {
    match decision {
        DialDecision::BridgeTo(bridge) => render_bridge(deps, call_id, bridge),
        DialDecision::Abandon { message } => render_goodbye(Some(message)),
        DialDecision::Hangup => render_goodbye(None),
    }
}

fn render_bridge(deps: &Deps, call_id: &CallId, bridge: &Bridge) -> String {
    let action = dial_action_url(&deps.config.public_url, call_id, bridge.attempt);
    twiml::bridge(&bridge.salesperson_phone, &bridge.caller_id, bridge.timeout_secs, &action, bridge.record)
}

fn render_goodbye(say: Option<&str>) -> String {
    twiml::goodbye(say)
}
