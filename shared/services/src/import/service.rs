//! Imports as admins manage them: start one (with a presigned upload URL),
//! read one with its first rejected rows, list them.

use std::time::Duration;

use ibrat_domain::ImportId;
use serde::Serialize;

use super::{ImportError, ImportSummary, SourceError, FIRST_ERRORS};
use crate::auth::Actor;
use crate::context::Deps;
use crate::repo::imports::{self as job, Failure, ImportRecord, ImportStatus};
use crate::repo::keys;
use crate::repo::page::{self, Page, PageToken};

/// How long a presigned upload URL stays valid.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// Longest file name kept.
const MAX_FILE_NAME: usize = 255;

/// The file's own name (no folders), bounded; `upload.csv` when none.
pub(crate) fn clean_file_name(name: Option<&str>) -> Result<String, ImportError> {
    let base = name.map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim()).unwrap_or_default();
    if base.chars().count() > MAX_FILE_NAME {
        return Err(ImportError::Validation(format!("file_name must be at most {MAX_FILE_NAME} characters")));
    }
    if base.chars().any(char::is_control) {
        return Err(ImportError::Validation("file_name must not contain control characters".into()));
    }
    Ok(if base.is_empty() { "upload.csv".to_owned() } else { base.to_owned() })
}

/// A new import waiting for its file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Created {
    pub import_id: ImportId,
    /// PUT the CSV here (no auth header; valid for `expires_in_secs`).
    pub upload_url: String,
    /// The object key the file lands under (`imports/<id>.csv`).
    pub key: String,
    pub expires_in_secs: u64,
}

/// Creates an import record and a presigned URL to upload its file to;
/// the upload's arrival starts the import.
pub async fn create(deps: &Deps, actor: &Actor, file_name: Option<&str>) -> Result<Created, ImportError> {
    actor.require_admin()?;
    let file_name = clean_file_name(file_name)?;
    let id = ImportId::new();
    let key = keys::import_blob(&id);
    let upload_url =
        deps.blobs.presign_put(&key, UPLOAD_URL_TTL).await.map_err(|e| ImportError::Source(SourceError::from(e)))?;
    let rec = ImportRecord::new(id.clone(), &file_name, Some(actor.id.clone()), deps.clock.now());
    job::create(deps.store.as_ref(), &rec).await?;
    tracing::info!(import_id = %id, by = %actor.id, "import created, awaiting upload");
    Ok(Created { import_id: id, upload_url, key, expires_in_secs: UPLOAD_URL_TTL.as_secs() })
}

/// The record with its first rejected rows.
pub(crate) async fn summary(deps: &Deps, rec: ImportRecord) -> Result<ImportSummary, ImportError> {
    let (errors, _) = crate::repo::import_errors::page(deps.store.as_ref(), &rec.id, FIRST_ERRORS, None).await?;
    Ok(ImportSummary { record: rec, errors })
}

/// One import with its first rejected rows.
pub async fn get(deps: &Deps, actor: &Actor, id: &ImportId) -> Result<ImportSummary, ImportError> {
    actor.require_admin()?;
    let rec = job::get(deps.store.as_ref(), id).await?.ok_or(ImportError::NotFound)?;
    summary(deps, rec).await
}

/// Imports, newest first.
pub async fn list(
    deps: &Deps,
    actor: &Actor,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<Page<ImportRecord>, ImportError> {
    actor.require_admin()?;
    let token = match cursor {
        None => None,
        Some(c) => Some(PageToken::decode(c).ok_or_else(|| ImportError::Validation("invalid cursor".into()))?),
    };
    let (items, next) = job::list(deps.store.as_ref(), page::page_size(limit), token.and_then(|t| t.store_cursor()))
        .await
        .map_err(|e| match e {
            ibrat_ports::StoreError::Invalid(_) => ImportError::Validation("invalid cursor".into()),
            other => ImportError::Store(other),
        })?;
    let next_cursor = next.map(|c| PageToken { part: String::new(), inner: Some(c.0) }.encode());
    Ok(Page { items, next_cursor })
}

/// Marks an unfinished import failed (for callers that cannot re-run it,
/// such as a direct upload whose body is gone). Finished imports stay.
pub async fn fail(deps: &Deps, id: &ImportId, code: &str, message: &str) -> Result<(), ImportError> {
    for _ in 0..3 {
        let Some(mut rec) = job::get(deps.store.as_ref(), id).await? else { return Ok(()) };
        if rec.status.is_final() {
            return Ok(());
        }
        rec.status = ImportStatus::Failed;
        rec.failure = Some(Failure { code: code.to_owned(), message: message.to_owned() });
        rec.finished_at = Some(deps.clock.now());
        if job::save(deps.store.as_ref(), &mut rec).await? {
            return Ok(());
        }
    }
    Err(ImportError::Superseded(id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_folders() {
        assert_eq!(clean_file_name(Some("C:\\Users\\me\\leads.csv")).ok().as_deref(), Some("leads.csv"));
        assert_eq!(clean_file_name(Some("../../x.csv")).ok().as_deref(), Some("x.csv"));
        assert_eq!(clean_file_name(None).ok().as_deref(), Some("upload.csv"));
        assert!(clean_file_name(Some(&"a".repeat(300))).is_err());
    }
}
