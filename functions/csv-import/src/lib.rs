//! The csv-import handler: an S3 `ObjectCreated` event names uploaded
//! objects; each `imports/<id>.csv` is streamed into leads by
//! `import::run_from_blob`. Re-delivered events are harmless: a finished
//! import is left as it is and an unfinished one resumes.

use aws_lambda_events::event::s3::S3Event;
use ibrat_services::import::{self, ImportError, ImportSummary};
use ibrat_services::Deps;

/// A failure worth retrying: the handler returns it so Lambda invokes
/// again, and the import resumes from its checkpoint.
#[derive(Debug, thiserror::Error)]
#[error("import of `{key}` failed and will be retried: {source}")]
pub struct RetryableError {
    pub key: String,
    #[source]
    pub source: ImportError,
}

/// What happened to one object of the event.
#[derive(Debug)]
pub enum RecordOutcome {
    /// Imported (or found already finished).
    Imported(Box<ImportSummary>),
    /// Not an import upload; left alone.
    Ignored(String),
    /// Refused for good (bad file, missing object); recorded, not retried.
    Failed { key: String, error: ImportError },
}

/// S3 event keys are URL-encoded with `+` for spaces.
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Imports every object of the event, one after the other. Returns the
/// first retryable failure after trying every record, so one bad object
/// never blocks the others.
pub async fn handle(deps: &Deps, event: S3Event) -> Result<Vec<RecordOutcome>, RetryableError> {
    let mut outcomes = Vec::with_capacity(event.records.len());
    let mut retry = None;
    for record in event.records {
        let Some(raw) = record.s3.object.key.as_deref() else {
            outcomes.push(RecordOutcome::Ignored(String::new()));
            continue;
        };
        let key = decode_key(raw);
        if import::import_id_of_key(&key).is_none() {
            tracing::warn!(key = %key, "not an import upload; ignored");
            outcomes.push(RecordOutcome::Ignored(key));
            continue;
        }
        match import::run_from_blob(deps, &key).await {
            Ok(summary) => outcomes.push(RecordOutcome::Imported(Box::new(summary))),
            Err(error) if error.is_retryable() => {
                tracing::warn!(key = %key, error = %error, "import interrupted; will retry");
                retry.get_or_insert(RetryableError { key, source: error });
            }
            Err(error) => {
                tracing::info!(key = %key, error = %error, "import failed for good");
                outcomes.push(RecordOutcome::Failed { key, error });
            }
        }
    }
    match retry {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}
