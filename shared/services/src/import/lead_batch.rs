//! Writing one batch of parsed rows: leads are created with the same
//! conditional put as hand-made leads (`attribute_not_exists`, id derived
//! from the phone), all in one `put_many`; rows refused before the write
//! are stored in it, those the write refuses are handed back to be stored
//! with the next checkpoint. Every write is idempotent, so a batch handled twice (a
//! re-run after a crash) produces the same items and the same counts.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ibrat_domain::{ImportId, Lead, LeadId, LeadStatus};
use ibrat_ports::{Item, Key, StoreError};

use super::row::{LeadRow, RejectKind, RowError};
use super::staging::Staged;
use crate::context::Deps;
use crate::leads::HOLD_ZONE_UNKNOWN;
use crate::repo::imports::Counts;
use crate::repo::{self, keys, leads as lead_repo};

/// The lead a row creates: queued now when its zone is known, pending
/// otherwise; do_not_call (never queued) when the number is listed.
fn new_lead(id: LeadId, row: LeadRow, import_id: &ImportId, on_dnc: bool, now: DateTime<Utc>) -> Lead {
    let (status, next_attempt_at, hold_reason) = if on_dnc {
        (LeadStatus::DoNotCall, None, None)
    } else if row.timezone.is_some() {
        (LeadStatus::Queued, Some(now), None)
    } else {
        (LeadStatus::Pending, None, Some(HOLD_ZONE_UNKNOWN.to_owned()))
    };
    Lead {
        id,
        name: row.name,
        phone: row.phone,
        email: row.email,
        priority: row.priority,
        status,
        attempts: 0,
        next_attempt_at,
        callback: false,
        timezone: row.timezone,
        notes: row.notes,
        custom: row.custom,
        import_id: Some(import_id.clone()),
        import_line: Some(row.line),
        last_call_id: None,
        salesperson_id: None,
        hold_reason,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// How an existing lead relates to the row that tried to create it.
fn existing_reason(existing: Option<&Item>, import_id: &ImportId, line: u64) -> Option<String> {
    let Some(item) = existing else {
        return Some("a lead with this phone number already exists".into());
    };
    let (origin_import, origin_line) = lead_repo::import_origin(item);
    let same_import = origin_import == Some(import_id.as_str());
    match origin_line {
        // Created by this very row in an earlier run: not a duplicate.
        Some(l) if same_import && l == line as i64 => None,
        Some(l) if same_import => Some(format!("same phone number as line {l}")),
        _ => Some("a lead with this phone number already exists".into()),
    }
}

/// What writing a batch did.
#[derive(Debug, Default)]
pub struct Written {
    pub counts: Counts,
    /// Rows refused by the write itself (an existing lead, a listed number),
    /// not yet stored: the caller stores them before it checkpoints, so a
    /// commit is shared by several batches.
    pub rejects: Vec<RowError>,
}

/// Writes one batch of staged rows (in key order, one phone's rows
/// together, earliest line first) and returns what happened to them. Later
/// rows of a phone ride in the write as rejected; rows the write refuses
/// come back in [`Written::rejects`]. `phone_column` names the phone column
/// in duplicate reports.
pub async fn write_batch(
    deps: &Deps,
    import_id: &ImportId,
    phone_column: &str,
    rows: Vec<Staged>,
) -> Result<Written, StoreError> {
    let mut counts = Counts { rows: rows.len() as u64, ..Counts::default() };
    let mut rejects: Vec<RowError> = Vec::new();
    let mut fresh: Vec<(LeadId, LeadRow)> = Vec::with_capacity(rows.len());
    for Staged { id, row } in rows {
        // One phone's rows are adjacent, earliest first: the last fresh row
        // is the first of this phone, if any. (Were they not, the
        // conditional put would still refuse the repeat.)
        if let Some((_, first)) = fresh.last().filter(|(last, _)| *last == id) {
            counts.duplicates += 1;
            let reason = format!("same phone number as line {}", first.line);
            rejects.push(RowError::new(row.line, RejectKind::Duplicate, phone_column, reason, row.phone.as_str()));
            continue;
        }
        fresh.push((id, row));
    }

    let dnc_keys: Vec<Key> = fresh.iter().map(|(_, r)| keys::dnc(r.phone.as_str())).collect();
    let listed: HashSet<String> = if dnc_keys.is_empty() {
        HashSet::new()
    } else {
        deps.store
            .batch_get(&dnc_keys)
            .await?
            .iter()
            .filter_map(|i| repo::dnc::phone_of(i).map(str::to_owned))
            .collect()
    };

    let now = deps.clock.now();
    let mut puts = Vec::with_capacity(fresh.len() + rejects.len());
    let mut meta = Vec::with_capacity(fresh.len());
    for (id, row) in fresh {
        let on_dnc = listed.contains(row.phone.as_str());
        meta.push((row.line, on_dnc, row.phone.as_str().to_owned()));
        puts.push(lead_repo::create_op(&new_lead(id, row, import_id, on_dnc, now)));
    }
    // Rows already rejected ride in the same write (unconditional puts, as
    // a re-run rewrites them), so a batch usually costs one commit.
    puts.extend(rejects.drain(..).map(|e| (crate::repo::import_errors::to_item(import_id, &e), None)));
    let results = if puts.is_empty() { Vec::new() } else { deps.store.put_many(puts).await? };
    for ((line, on_dnc, phone), result) in meta.into_iter().zip(results) {
        let duplicate = match &result {
            Ok(()) => None,
            Err(existing) => existing_reason(existing.as_ref(), import_id, line),
        };
        match (duplicate, on_dnc) {
            (Some(reason), _) => {
                counts.duplicates += 1;
                rejects.push(RowError::new(line, RejectKind::Duplicate, phone_column, reason, &phone));
            }
            (None, true) => {
                counts.do_not_call += 1;
                let reason = "on the do-not-call list: stored, not queued";
                rejects.push(RowError::new(line, RejectKind::DoNotCall, phone_column, reason, &phone));
            }
            (None, false) => counts.imported += 1,
        }
    }
    Ok(Written { counts, rejects })
}
