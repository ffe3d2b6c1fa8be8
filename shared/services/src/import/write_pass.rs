//! The write pass: staged rows come back in lead-key order, in batches,
//! each written with conditional puts; the count of batches written is
//! checkpointed on the import record, so a re-run skips them.

use futures::stream::{self, StreamExt};
use tokio::sync::mpsc;

use super::run::{announce_progress, save_checked, staging_failed};
use super::staging::{Staged, Staging};
use super::{lead_batch, ImportError, PROGRESS_ROWS};
use crate::context::Deps;
use crate::repo::imports::ImportRecord;

/// Write batches in flight at once: the next is prepared while the store
/// commits this one (three measured slower, and more memory).
const WRITES_AHEAD: usize = 2;

/// Second pass: writes the staged rows in key order, batch by batch,
/// skipping the batches an earlier run checkpointed.
pub(super) async fn write_pass(
    deps: &Deps,
    rec: &mut ImportRecord,
    phone_column: &str,
    staging: Staging,
) -> Result<(), ImportError> {
    let mut batches = staging.finish().map_err(staging_failed)?;
    // Reading back and sorting the next bucket overlaps with writing this one.
    let (tx, rx) = mpsc::channel::<std::io::Result<Vec<Staged>>>(1);
    tokio::task::spawn_blocking(move || loop {
        match batches.next_batch() {
            Ok(None) => break,
            Ok(Some(batch)) => {
                if tx.blocking_send(Ok(batch)).is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                break;
            }
        }
    });
    // Batches are independent (one phone's rows share a batch), so the next
    // one is prepared while the store commits this one; results come back
    // in order, which keeps the checkpoint a count of batches written.
    let (import_id, skip) = (rec.id.clone(), rec.checkpoint);
    let batches = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) })
        .enumerate()
        .filter(|(i, _)| std::future::ready(*i as u64 >= skip))
        .map(|(i, batch)| {
            let import_id = import_id.clone();
            async move {
                let batch = batch.map_err(staging_failed)?;
                let written = lead_batch::write_batch(deps, &import_id, phone_column, batch).await?;
                Ok::<_, ImportError>((i as u64 + 1, written))
            }
        })
        .buffered(WRITES_AHEAD);
    let mut batches = std::pin::pin!(batches);
    let mut since_progress = 0u64;
    // Rows the writes refused, stored before the checkpoint that covers them.
    let mut rejects = Vec::new();
    while let Some(done) = batches.next().await {
        let (index, mut written) = done?;
        let c = written.counts;
        rec.counts.imported += c.imported;
        rec.counts.duplicates += c.duplicates;
        rec.counts.do_not_call += c.do_not_call;
        rec.checkpoint = index;
        rejects.append(&mut written.rejects);
        since_progress += c.rows;
        if since_progress >= PROGRESS_ROWS {
            since_progress = 0;
            crate::repo::import_errors::store(deps.store.as_ref(), &rec.id, &mut rejects).await?;
            save_checked(deps, rec).await?;
            announce_progress(deps, rec).await;
        }
    }
    crate::repo::import_errors::store(deps.store.as_ref(), &rec.id, &mut rejects).await?;
    Ok(())
}
