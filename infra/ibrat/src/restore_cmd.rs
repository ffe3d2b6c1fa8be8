//! `ibrat restore DIR`: puts a backup made by `ibrat backup` into a data
//! directory no server is using. The backup's database is copied beside
//! the target, opened to check it is a database of this version, and only
//! then renamed over the old one, so a failed restore leaves the data
//! directory as it was (apart from a replaced blob folder).

use std::path::{Path, PathBuf};

use ibrat_local::RedbStore;

use crate::system::{BLOBS_DIR, DB_FILE};

/// Why nothing was restored; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0} holds no backup (there is no {DB_FILE} in it)")]
    NoBackup(PathBuf),
    #[error("the backup's database {path} is not usable: {source}")]
    BadBackup { path: PathBuf, source: ibrat_ports::StoreError },
    #[error("{0} already holds a database; pass --replace to overwrite it")]
    Occupied(PathBuf),
    #[error("the database {path} cannot be opened, so it may be in use; stop `ibrat serve` first ({source})")]
    InUse { path: PathBuf, source: ibrat_ports::StoreError },
    #[error("{path} could not be read or written: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// What was restored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreSummary {
    /// Files copied (the database included).
    pub files: u64,
}

/// Restores the backup in `backup` into `data_dir`; `replace` allows
/// overwriting a database already there.
pub fn run(backup: &Path, data_dir: &Path, replace: bool) -> Result<RestoreSummary, RestoreError> {
    let source_db = backup.join(DB_FILE);
    if !source_db.is_file() {
        return Err(RestoreError::NoBackup(backup.to_owned()));
    }
    let target_db = data_dir.join(DB_FILE);
    if target_db.exists() {
        if !replace {
            return Err(RestoreError::Occupied(target_db));
        }
        // Opening takes redb's lock, so a running server makes this fail.
        drop(RedbStore::open(&target_db).map_err(|source| RestoreError::InUse { path: target_db.clone(), source })?);
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;

    let staged = data_dir.join(format!(".restore-{}.redb", std::process::id()));
    std::fs::copy(&source_db, &staged).map_err(io(&staged))?;
    if let Err(source) = RedbStore::open(&staged) {
        let _ = std::fs::remove_file(&staged);
        return Err(RestoreError::BadBackup { path: source_db, source });
    }

    let blobs = data_dir.join(BLOBS_DIR);
    if blobs.exists() {
        std::fs::remove_dir_all(&blobs).map_err(io(&blobs))?;
    }
    let mut summary = RestoreSummary { files: 1 };
    copy_tree(backup, backup, data_dir, &mut summary)?;
    std::fs::rename(&staged, &target_db).map_err(io(&target_db))?;
    Ok(summary)
}

/// Copies every file under `dir` but the database into the same place
/// under `target` (each written beside and renamed, never half-written).
fn copy_tree(root: &Path, dir: &Path, target: &Path, summary: &mut RestoreSummary) -> Result<(), RestoreError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || (dir == root && name == DB_FILE) {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let to = target.join(rel);
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            std::fs::create_dir_all(&to).map_err(io(&to))?;
            copy_tree(root, &path, target, summary)?;
        } else if kind.is_file() {
            let tmp = to.with_file_name(format!(".{}.restoring", name.to_string_lossy()));
            std::fs::copy(&path, &tmp).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &to).map_err(io(&to))?;
            summary.files += 1;
        }
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RestoreError {
    let path = path.to_owned();
    move |source| RestoreError::Io { path, source }
}
