//! SDK failures to typed [`StoreError`]s: throttling is `Throttled`,
//! refused requests are `Invalid`, everything else is `Unavailable` with
//! the SDK error kept as the source. Failed conditions are mapped by each
//! operation, since only it knows where the old item is.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;
use ibrat_ports::StoreError;

/// Error codes meaning "too fast, try again later".
const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Error codes meaning "this request can never succeed as sent".
const REFUSED: &[&str] = &["ValidationException", "SerializationException"];

/// Maps any SDK failure other than a failed condition.
pub(crate) fn sdk_error<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.as_service_error().and_then(|e| e.code().map(str::to_owned));
    match code.as_deref() {
        Some(c) if THROTTLING.contains(&c) => {
            // The port's variant carries nothing; keep the cause in the logs.
            tracing::warn!(error = %DisplayErrorContext(&err), "DynamoDB throttled the request");
            StoreError::Throttled
        }
        Some(c) if REFUSED.contains(&c) => {
            let message = err.as_service_error().and_then(|e| e.message()).unwrap_or(c);
            StoreError::Invalid(format!("DynamoDB refused the request: {message}"))
        }
        _ => StoreError::Unavailable(Box::new(AwsFailure {
            code,
            context: DisplayErrorContext(&err).to_string(),
            source: Box::new(err),
        })),
    }
}

/// An SDK failure kept whole for the logs: the SDK's own top-level text is
/// only "service error", so this carries the AWS error code and the full
/// context, with the SDK error as its source.
#[derive(Debug)]
struct AwsFailure {
    code: Option<String>,
    context: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "DynamoDB error {code}: {}", self.context),
            None => write!(f, "DynamoDB request failed: {}", self.context),
        }
    }
}

impl std::error::Error for AwsFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// Maps a failure to build a request (a required field missing).
pub(crate) fn build_error(err: aws_smithy_types::error::operation::BuildError) -> StoreError {
    StoreError::Invalid(format!("request cannot be built: {err}"))
}

/// Maps a transaction cancellation reason code that is not a failed
/// condition: `None` when the code means "conflict, retry the whole
/// transaction", which the port reports as no failed condition.
pub(crate) fn cancellation_code(code: &str, message: Option<&str>) -> Option<StoreError> {
    match code {
        "None" | "ConditionalCheckFailed" | "TransactionConflict" => None,
        "ProvisionedThroughputExceeded" | "ThrottlingError" | "RequestLimitExceeded" => Some(StoreError::Throttled),
        "ValidationError" | "ItemCollectionSizeLimitExceeded" => {
            Some(StoreError::Invalid(format!("DynamoDB refused an operation: {}", message.unwrap_or(code))))
        }
        other => {
            Some(StoreError::Unavailable(format!("transaction cancelled: {other}: {}", message.unwrap_or("")).into()))
        }
    }
}
