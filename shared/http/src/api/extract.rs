//! Extractor wrappers that turn axum's plain-text rejections into the JSON
//! error shape: malformed JSON (400 `malformed_json`), fields that are
//! unknown, missing or of the wrong type (400 `validation_failed`), a wrong
//! content type (415), an over-large body (413), bad query strings and path
//! parameters (400).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; rejections become [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

fn json_rejection(rej: JsonRejection) -> ApiError {
    match rej {
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {}", inner(&e.body_text())),
        ),
        JsonRejection::JsonDataError(e) => ApiError::validation(inner(&e.body_text())),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large("the request body is too large")
        }
        other => ApiError::validation(format!("the body could not be read: {}", other.body_text())),
    }
}

/// axum prefixes serde's message with its own sentence; keep serde's part.
fn inner(text: &str) -> String {
    match text.split_once(": ") {
        Some((_, rest)) if !rest.is_empty() => rest.to_owned(),
        _ => text.to_owned(),
    }
}

/// A query string; rejections become 400s.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::validation(format!("query string: {}", inner(&e.body_text()))))
            }
            Err(other) => Err(ApiError::validation(other.body_text())),
        }
    }
}

/// Path parameters; rejections become 400s.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                Err(ApiError::validation(format!("path: {}", inner(&e.body_text()))))
            }
            Err(other) => Err(ApiError::internal(other.body_text())),
        }
    }
}

/// Parses an id from a path, refusing the wrong kind with a 400.
pub fn parse_id<T: std::str::FromStr<Err = ibrat_domain::IdError>>(raw: &str) -> Result<T, ApiError> {
    raw.parse::<T>().map_err(|e| ApiError::validation(e.to_string()))
}
