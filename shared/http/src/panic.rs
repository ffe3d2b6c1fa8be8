//! One request's panic must not end the process: every router of this crate
//! is wrapped in [`catch_panics`], which turns a panic into a logged 500 in
//! the error shape. It relies on unwinding, which is why the workspace's
//! release profile uses `panic = "unwind"` (with `abort` the layer would
//! never run and one bad request would end the local server or the Lambda).

use std::any::Any;

use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;

/// The panic handler's type, named so the layer can be returned.
pub type PanicHandler = fn(Box<dyn Any + Send + 'static>) -> Response;

/// A layer answering 500 `internal` when the service below panics.
pub fn catch_panics() -> CatchPanicLayer<PanicHandler> {
    CatchPanicLayer::custom(answer_panic as PanicHandler)
}

fn answer_panic(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::internal(format_args!("a request handler panicked: {detail}")).into_response()
}
