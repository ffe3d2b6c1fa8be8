//! The staleness sweep: an import whose runner died after its retries (the
//! csv-import function timed out, ran out of memory, the local process was
//! killed) stays `running` with no progress. The scheduler's every-minute
//! run finds such imports through one bounded page of gsi3
//! `RUNNING_IMPORTS` (least recent progress first) and, for each:
//! - resumes it when its uploaded file is still there: the record is
//!   claimed under its version (a runner that saved meanwhile wins and the
//!   import is left alone), then the file is announced again
//!   ([`ibrat_ports::BlobStore::renotify`]), which starts the import again
//!   from its checkpoint;
//! - fails it with a clear reason when the file is gone (`upload_missing`)
//!   or after `import_max_resumes` resumes (`stalled`).
//!
//! An import still `awaiting_upload` that long is in the same index: its
//! file arrived but the announcement was lost (resumed the same way), or
//! its upload link expired with no file (`upload_never_arrived`).

use chrono::{DateTime, Utc};
use ibrat_domain::ImportId;
use ibrat_ports::BlobError;

use super::run::announce_end;
use super::service::UPLOAD_URL_TTL;
use super::ImportError;
use crate::context::Deps;
use crate::repo::imports::{self as job, Failure, ImportRecord, ImportStatus};
use crate::repo::keys;

/// Stale imports looked at per sweep; the rest wait for the next minute.
pub const SWEEP_PAGE: usize = 25;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Imports whose file was announced again (they resume from their checkpoint).
    pub resumed: Vec<ImportId>,
    /// Imports marked failed, with the failure code.
    pub failed: Vec<(ImportId, String)>,
    /// Imports a runner moved while the sweep looked (left alone).
    pub alive: Vec<ImportId>,
}

/// What to do with one stale import.
enum Verdict {
    Resume,
    Fail(Failure),
    /// Its upload link may still be used: not stale yet.
    Wait,
}

fn since(rec: &ImportRecord) -> DateTime<Utc> {
    rec.progress_at.or(rec.started_at).unwrap_or(rec.created_at)
}

async fn verdict(deps: &Deps, rec: &ImportRecord, key: &str) -> Result<Verdict, BlobError> {
    let last = since(rec).to_rfc3339();
    if rec.status == ImportStatus::AwaitingUpload {
        return match deps.blobs.size(key).await {
            Ok(_) if rec.resumes < deps.config.import_max_resumes => Ok(Verdict::Resume),
            Ok(_) => Ok(Verdict::Fail(Failure {
                code: "stalled".into(),
                message: format!(
                    "the uploaded file was announced {} times and never started (created at {last}); \
                     start a new import",
                    rec.resumes + 1
                ),
            })),
            Err(BlobError::NotFound(_) | BlobError::InvalidKey(_))
                if deps.clock.now() < rec.created_at + UPLOAD_URL_TTL =>
            {
                Ok(Verdict::Wait)
            }
            Err(BlobError::NotFound(_) | BlobError::InvalidKey(_)) => Ok(Verdict::Fail(Failure {
                code: "upload_never_arrived".into(),
                message: format!(
                    "no file was uploaded for this import (created at {last}) before its upload link \
                     expired; start a new import"
                ),
            })),
            Err(e) => Err(e),
        };
    }
    if rec.resumes >= deps.config.import_max_resumes {
        return Ok(Verdict::Fail(Failure {
            code: "stalled".into(),
            message: format!(
                "the import stopped making progress {} times (last progress at {last}) and was given up; \
                 the rows before that stay imported; split the file and upload the rest again",
                rec.resumes + 1
            ),
        }));
    }
    match deps.blobs.size(key).await {
        Ok(_) => Ok(Verdict::Resume),
        Err(BlobError::NotFound(_) | BlobError::InvalidKey(_)) => Ok(Verdict::Fail(Failure {
            code: "upload_missing".into(),
            message: format!(
                "the import stopped making progress (last progress at {last}) and its uploaded file is gone, \
                 so it cannot resume; the rows before that stay imported; upload the file again"
            ),
        })),
        Err(e) => Err(e),
    }
}

/// Resumes or fails every stale running import of one page.
pub async fn sweep(deps: &Deps) -> Result<SweepOutcome, ImportError> {
    let now = deps.clock.now();
    let stale_after = chrono::Duration::from_std(deps.config.import_stale_after).unwrap_or(chrono::Duration::MAX);
    let Some(before) = now.checked_sub_signed(stale_after) else { return Ok(SweepOutcome::default()) };
    let store = deps.store.as_ref();
    let mut out = SweepOutcome::default();
    for mut rec in job::stale_running(store, before, SWEEP_PAGE).await? {
        let key = keys::import_blob(&rec.id);
        let verdict = match verdict(deps, &rec, &key).await {
            Ok(v) => v,
            Err(e) => {
                // Storage is down: the next minute's sweep looks again.
                tracing::warn!(import_id = %rec.id, error = %e, "stale import left for the next sweep");
                continue;
            }
        };
        match verdict {
            Verdict::Wait => continue,
            Verdict::Resume => {
                rec.resumes += 1;
                rec.progress_at = Some(now);
                if !job::save(store, &mut rec).await? {
                    out.alive.push(rec.id);
                    continue;
                }
                match deps.blobs.renotify(&key).await {
                    Ok(()) => {
                        tracing::warn!(import_id = %rec.id, resumes = rec.resumes, "stalled import resumed");
                        out.resumed.push(rec.id);
                    }
                    // Counted as a resume: the next sweep tries again, then gives up.
                    Err(e) => tracing::warn!(import_id = %rec.id, error = %e, "stalled import could not be resumed"),
                }
            }
            Verdict::Fail(failure) => {
                let code = failure.code.clone();
                rec.status = ImportStatus::Failed;
                rec.failure = Some(failure);
                rec.finished_at = Some(now);
                if !job::save(store, &mut rec).await? {
                    out.alive.push(rec.id);
                    continue;
                }
                tracing::warn!(import_id = %rec.id, code = %code, "stalled import failed");
                announce_end(deps, &rec).await;
                out.failed.push((rec.id, code));
            }
        }
    }
    Ok(out)
}
