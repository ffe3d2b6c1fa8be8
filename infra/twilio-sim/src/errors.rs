//! The REST API's refusals, answered with Twilio's error body so our client
//! maps them exactly as it maps Twilio's.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Why a REST request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Missing or wrong credentials (20003).
    #[error("Authenticate")]
    Unauthenticated,
    /// No such call or account (20404).
    #[error("The requested resource {0} was not found")]
    NotFound(String),
    /// No `To` (21201).
    #[error("No 'To' number is specified")]
    MissingTo,
    /// No `From` (21603).
    #[error("A 'From' phone number is required.")]
    MissingFrom,
    /// No `Url`, `Twiml` or `ApplicationSid`, or a `Url` that is not absolute HTTP(S) (21205).
    #[error("Url parameter is required and must be a valid http(s) URL: '{0}'")]
    BadUrl(String),
    /// `To` is not an E.164 number (21211).
    #[error("Invalid 'To' Phone Number: {0}")]
    InvalidTo(String),
    /// `From` is not an E.164 number (21212).
    #[error("Invalid 'From' Phone Number: {0}")]
    InvalidFrom(String),
    /// An unreadable form or an unsupported parameter value (20001).
    #[error("Invalid parameter: {0}")]
    InvalidParameter(String),
    /// A live update of a call that has ended (21220).
    #[error("Call is not in-progress. Cannot redirect.")]
    NotInProgress,
    /// An injected fault: Twilio answered 500 (20500) or 503 (20503).
    #[error("An internal server error has occurred")]
    ServerError(u16),
}

impl ApiError {
    /// Twilio's error code.
    pub fn code(&self) -> u32 {
        match self {
            ApiError::Unauthenticated => 20003,
            ApiError::NotFound(_) => 20404,
            ApiError::MissingTo => 21201,
            ApiError::MissingFrom => 21603,
            ApiError::BadUrl(_) => 21205,
            ApiError::InvalidTo(_) => 21211,
            ApiError::InvalidFrom(_) => 21212,
            ApiError::InvalidParameter(_) => 20001,
            ApiError::NotInProgress => 21220,
            ApiError::ServerError(503) => 20503,
            ApiError::ServerError(_) => 20500,
        }
    }

    /// The HTTP status Twilio answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::ServerError(503) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let mut body = serde_json::json!({
            "code": code,
            "message": self.to_string(),
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        });
        if self == ApiError::Unauthenticated {
            body["detail"] = "Your AccountSid or AuthToken was incorrect.".into();
            return (status, [(header::WWW_AUTHENTICATE, r#"Basic realm="Twilio API""#)], Json(body)).into_response();
        }
        (status, Json(body)).into_response()
    }
}
