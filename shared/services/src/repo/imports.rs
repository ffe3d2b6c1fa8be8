//! The import record (`IMPORT#<id>` / `IMPORT`, listed through gsi1
//! `IMPORTS`): file name, status, counts and the checkpoint a re-run resumes
//! from. Every change is conditional on the record's `version`, so two
//! runners of one import can never move its counts backwards. While running,
//! the record is also in gsi3 `RUNNING_IMPORTS` under the time of its last
//! progress, so stalled imports are found without a scan.

use chrono::{DateTime, Utc};
use ibrat_domain::{ImportId, UserId};
use ibrat_ports::store::schema::{GSI1, GSI3};
use ibrat_ports::{Condition, Cursor, Item, Query, SkCondition, Store, StoreError, Update};
use serde::Serialize;

use super::codec::{get_ts, opt_parse, req_parse, req_s, req_ts, ts};
use super::keys;

/// Where an import is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Created by `POST /api/imports`; the file has not arrived yet.
    AwaitingUpload,
    /// Rows are being read and written.
    Running,
    /// Every row was handled.
    Completed,
    /// The file was refused or a limit was exceeded (see `error`).
    Failed,
}

impl ImportStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::AwaitingUpload => "awaiting_upload",
            ImportStatus::Running => "running",
            ImportStatus::Completed => "completed",
            ImportStatus::Failed => "failed",
        }
    }

    /// Reads a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "awaiting_upload" => Some(ImportStatus::AwaitingUpload),
            "running" => Some(ImportStatus::Running),
            "completed" => Some(ImportStatus::Completed),
            "failed" => Some(ImportStatus::Failed),
            _ => None,
        }
    }

    /// True once nothing more will happen to the import.
    pub fn is_final(self) -> bool {
        matches!(self, ImportStatus::Completed | ImportStatus::Failed)
    }
}

/// What happened to the rows. `rows = imported + duplicates + invalid +
/// do_not_call` always holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Data rows read (blank lines and the header excluded).
    pub rows: u64,
    /// Leads created by this import (queued, or pending without a zone).
    pub imported: u64,
    /// Rows whose phone was already a lead, or repeated an earlier row.
    pub duplicates: u64,
    /// Rows refused (bad phone, email, priority, zone, over-long field).
    pub invalid: u64,
    /// Numbers on the do-not-call list: stored as do_not_call, not queued.
    pub do_not_call: u64,
}

impl Counts {
    /// Adds another set of counts.
    pub fn add(&mut self, other: &Counts) {
        self.rows += other.rows;
        self.imported += other.imported;
        self.duplicates += other.duplicates;
        self.invalid += other.invalid;
        self.do_not_call += other.do_not_call;
    }
}

/// Why an import failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Stable machine-readable code (`no_phone_column`, `not_utf8`, ...).
    pub code: String,
    pub message: String,
}

/// One import as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    pub id: ImportId,
    pub file_name: String,
    pub status: ImportStatus,
    #[serde(flatten)]
    pub counts: Counts,
    /// Data records already handled and counted; a re-run skips them.
    #[serde(skip)]
    pub checkpoint: u64,
    pub failure: Option<Failure>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When a runner last saved progress (the staleness sweep's measure).
    #[serde(skip)]
    pub progress_at: Option<DateTime<Utc>>,
    /// Times the staleness sweep restarted this import.
    #[serde(skip)]
    pub resumes: u64,
    #[serde(skip)]
    pub version: u64,
}

impl ImportRecord {
    /// A new record waiting for its file (or about to run).
    pub fn new(id: ImportId, file_name: &str, created_by: Option<UserId>, now: DateTime<Utc>) -> Self {
        ImportRecord {
            id,
            file_name: file_name.to_owned(),
            status: ImportStatus::AwaitingUpload,
            counts: Counts::default(),
            checkpoint: 0,
            failure: None,
            created_by,
            created_at: now,
            started_at: None,
            finished_at: None,
            progress_at: None,
            resumes: 0,
            version: 1,
        }
    }

    /// The gsi3 sort key while unfinished (awaiting its file or running):
    /// last progress (else creation) first.
    fn running_sk(&self) -> Option<String> {
        matches!(self.status, ImportStatus::AwaitingUpload | ImportStatus::Running)
            .then(|| keys::created_sk(self.progress_at.unwrap_or(self.created_at), self.id.as_str()))
    }
}

fn to_item(r: &ImportRecord) -> Item {
    let mut item = Item::with_key(&keys::import(&r.id))
        .with("id", r.id.as_str())
        .with("file_name", r.file_name.as_str())
        .with("status", r.status.as_str())
        .with("checkpoint", r.checkpoint)
        .with("created_at", ts(r.created_at))
        .with_opt("created_by", r.created_by.as_ref().map(|u| u.as_str()))
        .with_opt("started_at", r.started_at.map(ts))
        .with_opt("finished_at", r.finished_at.map(ts))
        .with_opt("progress_at", r.progress_at.map(ts))
        .with("resumes", r.resumes)
        .with_opt("failure_code", r.failure.as_ref().map(|f| f.code.as_str()))
        .with_opt("failure_message", r.failure.as_ref().map(|f| f.message.as_str()))
        .with("version", r.version)
        .with(GSI1.pk, keys::IMPORTS_PK)
        .with(GSI1.sk, keys::created_sk(r.created_at, r.id.as_str()));
    if let Some(sk) = r.running_sk() {
        item.insert(GSI3.pk, keys::RUNNING_IMPORTS_PK);
        item.insert(GSI3.sk, sk);
    }
    for (name, value) in counts_attrs(&r.counts) {
        item.insert(name, value);
    }
    item
}

fn counts_attrs(c: &Counts) -> [(&'static str, u64); 5] {
    [
        ("rows", c.rows),
        ("imported", c.imported),
        ("duplicates", c.duplicates),
        ("invalid", c.invalid),
        ("do_not_call", c.do_not_call),
    ]
}

fn count(item: &Item, name: &str) -> u64 {
    item.n(name).unwrap_or(0).max(0) as u64
}

/// Reads a record item.
pub fn from_item(item: &Item) -> Result<ImportRecord, StoreError> {
    let status_raw = req_s(item, "status")?;
    let status = ImportStatus::parse(status_raw)
        .ok_or_else(|| StoreError::Corrupt(format!("import: unknown status `{status_raw}`")))?;
    let failure = item.s("failure_code").map(|code| Failure {
        code: code.to_owned(),
        message: item.s("failure_message").unwrap_or_default().to_owned(),
    });
    Ok(ImportRecord {
        id: req_parse(item, "id", ImportId::parse)?,
        file_name: item.s("file_name").unwrap_or_default().to_owned(),
        status,
        counts: Counts {
            rows: count(item, "rows"),
            imported: count(item, "imported"),
            duplicates: count(item, "duplicates"),
            invalid: count(item, "invalid"),
            do_not_call: count(item, "do_not_call"),
        },
        checkpoint: count(item, "checkpoint"),
        failure,
        created_by: opt_parse(item, "created_by", UserId::parse)?,
        created_at: req_ts(item, "created_at")?,
        started_at: get_ts(item, "started_at"),
        finished_at: get_ts(item, "finished_at"),
        progress_at: get_ts(item, "progress_at"),
        resumes: count(item, "resumes"),
        version: count(item, "version"),
    })
}

/// Stores a new record; false when one with this id exists already.
pub async fn create(store: &dyn Store, record: &ImportRecord) -> Result<bool, StoreError> {
    match store.put(to_item(record), Some(Condition::not_exists())).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads a record.
pub async fn get(store: &dyn Store, id: &ImportId) -> Result<Option<ImportRecord>, StoreError> {
    store.get(&keys::import(id)).await?.map(|i| from_item(&i)).transpose()
}

/// Writes `record` (already changed by the caller) only if nobody moved it
/// since it was read at `record.version`; bumps the version. Returns false
/// on a lost race.
pub async fn save(store: &dyn Store, record: &mut ImportRecord) -> Result<bool, StoreError> {
    let expected = record.version;
    let mut update = Update::new()
        .set("status", record.status.as_str())
        .set("checkpoint", record.checkpoint)
        .set("version", expected + 1)
        .set_opt("started_at", record.started_at.map(ts))
        .set_opt("finished_at", record.finished_at.map(ts))
        .set_opt("progress_at", record.progress_at.map(ts))
        .set("resumes", record.resumes)
        .set_opt("failure_code", record.failure.as_ref().map(|f| f.code.as_str()))
        .set_opt("failure_message", record.failure.as_ref().map(|f| f.message.as_str()));
    update = match record.running_sk() {
        Some(sk) => update.set(GSI3.pk, keys::RUNNING_IMPORTS_PK).set(GSI3.sk, sk),
        None => update.remove(GSI3.pk).remove(GSI3.sk),
    };
    for (name, value) in counts_attrs(&record.counts) {
        update = update.set(name, value);
    }
    let condition = Condition::exists().and(Condition::eq("version", expected));
    match store.update(&keys::import(&record.id), update, Some(condition)).await {
        Ok(_) => {
            record.version = expected + 1;
            Ok(true)
        }
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A page of imports, newest first.
pub async fn list(
    store: &dyn Store,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<ImportRecord>, Option<Cursor>), StoreError> {
    let page = store.query(&Query::index(GSI1.name, keys::IMPORTS_PK).reverse().limit(limit).after(cursor)).await?;
    let records = page.items.iter().map(from_item).collect::<Result<_, _>>()?;
    Ok((records, page.cursor))
}

/// Running imports whose last progress is before `before`, least recent
/// first, at most `limit` (one bounded page of gsi3 `RUNNING_IMPORTS`).
pub async fn stale_running(
    store: &dyn Store,
    before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ImportRecord>, StoreError> {
    let q = Query::index(GSI3.name, keys::RUNNING_IMPORTS_PK).sk(SkCondition::Lt(keys::ms13(before))).limit(limit);
    store.query(&q).await?.items.iter().map(from_item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let now = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default();
        let mut r = ImportRecord::new(ImportId::new(), "leads.csv", Some(UserId::new()), now);
        r.status = ImportStatus::Failed;
        r.counts = Counts { rows: 5, imported: 1, duplicates: 2, invalid: 1, do_not_call: 1 };
        r.checkpoint = 7;
        r.failure = Some(Failure { code: "x".into(), message: "y".into() });
        r.started_at = Some(now);
        r.progress_at = Some(now);
        r.resumes = 2;
        assert_eq!(from_item(&to_item(&r)).ok(), Some(r));
    }
}
