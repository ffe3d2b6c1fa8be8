//! Leads in the table. A lead's id is derived from its phone number
//! (`LeadId::for_phone`), so "one lead per phone" is a conditional put and
//! never needs a lookup first. The dial-queue index entry (gsi2) is written
//! here and only here, from the lead's own state, so it can never drift.

use std::collections::BTreeMap;

use ibrat_domain::{CallId, Email, ImportId, Lead, LeadId, LeadStatus, Phone, Priority, UserId};
use ibrat_ports::store::schema::{GSI1, GSI2};
use ibrat_ports::{Condition, Cursor, Item, Query, Store, StoreError, Value, WriteOp};

use super::codec::{get_ts, opt_parse, req_enum, req_n, req_parse, req_s, req_ts, ts};
use super::keys;

/// How many partitions the dial queue is spread over.
pub const QUEUE_SHARDS: u32 = 8;

/// True when the lead belongs in the dial queue index.
pub fn is_queued(lead: &Lead) -> bool {
    lead.status.is_dialable() && lead.timezone.is_some() && lead.next_attempt_at.is_some()
}

/// Builds the full lead item, including its listing and queue index keys.
pub fn to_item(lead: &Lead) -> Item {
    let custom: BTreeMap<String, Value> = lead.custom.iter().map(|(k, v)| (k.clone(), Value::S(v.clone()))).collect();
    let mut item = Item::with_key(&keys::lead(&lead.id))
        .with("id", lead.id.as_str())
        .with("name", lead.name.as_str())
        .with("phone", lead.phone.as_str())
        .with_opt("email", lead.email.as_ref().map(|e| e.as_str()))
        .with("priority", lead.priority.as_str())
        .with("status", lead.status.as_str())
        .with("attempts", lead.attempts)
        .with_opt("next_attempt_at", lead.next_attempt_at.map(ts))
        .with("callback", lead.callback)
        .with_opt("timezone", lead.timezone.as_deref())
        .with("notes", lead.notes.as_str())
        .with("custom", custom)
        .with_opt("import_id", lead.import_id.as_ref().map(|i| i.as_str()))
        .with_opt("import_line", lead.import_line)
        .with_opt("last_call_id", lead.last_call_id.as_ref().map(|c| c.as_str()))
        .with_opt("salesperson_id", lead.salesperson_id.as_ref().map(|u| u.as_str()))
        .with_opt("hold_reason", lead.hold_reason.as_deref())
        .with("created_at", ts(lead.created_at))
        .with("updated_at", ts(lead.updated_at))
        .with("version", lead.version)
        .with(GSI1.pk, keys::leads_by_status_pk(lead.status))
        .with(GSI1.sk, keys::created_sk(lead.created_at, lead.id.as_str()));
    if let (true, Some(due)) = (is_queued(lead), lead.next_attempt_at) {
        item.insert(GSI2.pk, keys::queue_pk(lead.id.shard(QUEUE_SHARDS)));
        item.insert(GSI2.sk, keys::queue_sk(lead.callback, lead.priority.rank(), due, lead.created_at, &lead.id));
    }
    item
}

/// Reads a lead item.
pub fn from_item(item: &Item) -> Result<Lead, StoreError> {
    let custom = match item.get("custom") {
        Some(Value::M(m)) => m.iter().filter_map(|(k, v)| v.as_s().map(|s| (k.clone(), s.to_owned()))).collect(),
        _ => BTreeMap::new(),
    };
    Ok(Lead {
        id: req_parse(item, "id", LeadId::parse)?,
        name: req_s(item, "name")?.to_owned(),
        phone: req_parse(item, "phone", Phone::parse_e164)?,
        email: opt_parse(item, "email", Email::parse)?,
        priority: req_enum(item, "priority", Priority::parse)?,
        status: req_enum(item, "status", LeadStatus::parse)?,
        attempts: req_n(item, "attempts")?.max(0) as u32,
        next_attempt_at: get_ts(item, "next_attempt_at"),
        callback: item.bool("callback").unwrap_or(false),
        timezone: item.s("timezone").map(str::to_owned),
        notes: item.s("notes").unwrap_or_default().to_owned(),
        custom,
        import_id: opt_parse(item, "import_id", ImportId::parse)?,
        import_line: item.n("import_line").map(|n| n.max(0) as u64),
        last_call_id: opt_parse(item, "last_call_id", CallId::parse)?,
        salesperson_id: opt_parse(item, "salesperson_id", UserId::parse)?,
        hold_reason: item.s("hold_reason").map(str::to_owned),
        created_at: req_ts(item, "created_at")?,
        updated_at: req_ts(item, "updated_at")?,
        version: item.n("version").unwrap_or(0).max(0) as u64,
    })
}

/// The import and line that created a stored lead, read straight from its
/// item (the import's duplicate check reads many and needs nothing else).
pub fn import_origin(item: &Item) -> (Option<&str>, Option<i64>) {
    (item.s("import_id"), item.n("import_line"))
}

/// The priority of a stored lead, read straight from its item (counting
/// needs nothing else).
pub fn priority_of(item: &Item) -> Option<Priority> {
    item.s("priority").and_then(Priority::parse)
}

/// Reads a lead.
pub async fn get(store: &dyn Store, id: &LeadId) -> Result<Option<Lead>, StoreError> {
    store.get(&keys::lead(id)).await?.map(|i| from_item(&i)).transpose()
}

/// The write that creates a new lead, refused when its phone is taken.
pub fn create_op(lead: &Lead) -> (Item, Option<Condition>) {
    (to_item(lead), Some(Condition::not_exists()))
}

/// Bumps the lead's version and returns the item with the condition that
/// stores it only if nobody changed it since it was read (optimistic
/// concurrency, [`Condition::version`]). Every lead save goes through here.
pub fn save_put(lead: &mut Lead) -> (Item, Option<Condition>) {
    let expected = lead.version;
    lead.version += 1;
    (to_item(lead), Some(Condition::version(expected)))
}

/// [`save_put`] as one write of a transaction.
pub fn save_op(lead: &mut Lead) -> WriteOp {
    let (item, condition) = save_put(lead);
    WriteOp::Put { item, condition }
}

/// Stores a changed lead if nobody changed it since it was read; Ok(false)
/// on a lost race (the caller's next read sees the winner's state).
pub async fn save(store: &dyn Store, lead: &mut Lead) -> Result<bool, StoreError> {
    let (item, condition) = save_put(lead);
    match store.put(item, condition).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The conditional delete of a lead read at its current version.
pub async fn delete(store: &dyn Store, lead: &Lead) -> Result<(), StoreError> {
    store.delete(&keys::lead(&lead.id), Some(Condition::version(lead.version))).await.map(|_| ())
}

/// A page of leads with one status, newest first.
pub async fn list_by_status(
    store: &dyn Store,
    status: LeadStatus,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Lead>, Option<Cursor>), StoreError> {
    let q = Query::index(GSI1.name, keys::leads_by_status_pk(status)).reverse().limit(limit).after(cursor);
    let page = store.query(&q).await?;
    let leads = page.items.iter().map(from_item).collect::<Result<_, _>>()?;
    Ok((leads, page.cursor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use ibrat_domain::Region;

    fn ms_now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
    }

    pub fn sample() -> Lead {
        let phone = Phone::parse("+998901234567", Region::default()).unwrap();
        let now = ms_now();
        Lead {
            id: LeadId::for_phone(&phone),
            name: "Bobur".into(),
            phone,
            email: None,
            priority: Priority::High,
            status: LeadStatus::Queued,
            attempts: 0,
            next_attempt_at: Some(now),
            callback: false,
            timezone: Some("Asia/Tashkent".into()),
            notes: String::new(),
            custom: BTreeMap::from([("city".to_owned(), "Tashkent".to_owned())]),
            import_id: None,
            import_line: None,
            last_call_id: None,
            salesperson_id: None,
            hold_reason: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    #[test]
    fn round_trips_and_sits_in_the_queue_only_when_dialable() {
        let mut lead = sample();
        let item = to_item(&lead);
        assert!(item.s(GSI2.sk).unwrap().starts_with("11#"));
        assert_eq!(from_item(&item).unwrap(), lead);
        lead.timezone = None;
        assert!(to_item(&lead).get(GSI2.pk).is_none());
        lead.timezone = Some("Asia/Tashkent".into());
        lead.status = LeadStatus::Dialing;
        assert!(to_item(&lead).get(GSI2.pk).is_none());
        lead.status = LeadStatus::RetryScheduled;
        lead.callback = true;
        assert!(to_item(&lead).s(GSI2.sk).unwrap().starts_with("0#"));
    }
}
