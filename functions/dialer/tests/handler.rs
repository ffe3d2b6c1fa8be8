//! The dialer handler on real SQS event JSON, over local adapters: each
//! record is handled on its own and only retryable failures are reported.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use ibrat_domain::{Lead, LeadId, LeadStatus, Phone, Priority, Region};
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, Clock, Condition, CreateCall, Item, Key, ManualClock, NoConnections, NullPublisher, Page,
    PlacedCall, Query, Queue, RemoteCall, Store, StoreError, Telephony, TelephonyError, Update, WriteOp,
};
use ibrat_services::messages::QueueMessage;
use ibrat_services::{repo, Config, Deps};

/// Accepts every call.
#[derive(Default)]
struct OkTelephony(Mutex<Vec<CreateCall>>);

#[async_trait]
impl Telephony for OkTelephony {
    async fn create_call(&self, req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        let mut placed = self.0.lock().unwrap();
        placed.push(req.clone());
        Ok(PlacedCall { sid: format!("CA{:032x}", placed.len()), status: "queued".into() })
    }
    async fn fetch_call(&self, _sid: &str) -> Result<RemoteCall, TelephonyError> {
        Err(TelephonyError::NotFound)
    }
    async fn end_call(&self, _sid: &str) -> Result<(), TelephonyError> {
        Ok(())
    }

    async fn update_call(&self, _sid: &str, _instruction: &CallInstruction) -> Result<(), TelephonyError> {
        Err(TelephonyError::NotFound)
    }

    async fn list_calls_to(
        &self,
        _to: &str,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<RemoteCall>, TelephonyError> {
        Ok(Vec::new())
    }
}

/// A store whose reads of one item fail as an outage would.
struct FlakyStore {
    inner: RedbStore,
    broken: Key,
}

#[async_trait]
impl Store for FlakyStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        if *key == self.broken {
            return Err(StoreError::Throttled);
        }
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.inner.put(item, condition).await
    }
    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, StoreError> {
        self.inner.update(key, update, condition).await
    }
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact_write(ops).await
    }
    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<Key>) -> Result<(), StoreError> {
        self.inner.batch_write(puts, deletes).await
    }
    async fn put_many(
        &self,
        items: Vec<(Item, Option<Condition>)>,
    ) -> Result<Vec<Result<(), Option<Item>>>, StoreError> {
        self.inner.put_many(items).await
    }
}

fn lead(n: u32, now: DateTime<Utc>) -> Lead {
    let phone = Phone::parse(&format!("+99890{n:07}"), Region::default()).unwrap();
    Lead {
        id: LeadId::for_phone(&phone),
        name: format!("Lead {n}"),
        phone,
        email: None,
        priority: Priority::High,
        status: LeadStatus::Queued,
        attempts: 0,
        next_attempt_at: Some(now),
        callback: false,
        timezone: Some("Asia/Tashkent".into()),
        notes: String::new(),
        custom: BTreeMap::new(),
        import_id: None,
        import_line: None,
        last_call_id: None,
        salesperson_id: None,
        hold_reason: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

fn sqs_record(id: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "messageId": id,
        "receiptHandle": format!("AQEB{id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1764000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1764000000001"
        },
        "messageAttributes": {},
        "md5OfBody": "0123456789abcdef0123456789abcdef",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:ibrat-dev-dial",
        "awsRegion": "eu-central-1"
    })
}

#[tokio::test]
async fn each_record_is_handled_alone_and_only_retryable_failures_are_reported() {
    let now = DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").unwrap().with_timezone(&Utc);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let good = lead(1, now);
    let flaky = lead(2, now);
    let store = Arc::new(FlakyStore {
        inner: RedbStore::in_memory().unwrap().with_clock(clock.clone()),
        broken: repo::keys::lead(&flaky.id),
    });
    for l in [&good, &flaky] {
        store.put(repo::leads::to_item(l), None).await.unwrap();
    }
    let mut settings = ibrat_domain::Settings::default();
    settings.pacing.calls_per_second = 100;
    repo::settings::put(store.as_ref(), &settings).await.unwrap();
    // A tick has run with one salesperson: the stored cap allows calls.
    repo::pacing::set_cap(store.as_ref(), 5, now).await.unwrap();
    let telephony = Arc::new(OkTelephony::default());
    let queue = Arc::new(MemQueue::new());
    let deps = Deps {
        store: store.clone(),
        queue: queue.clone(),
        events: Arc::new(NullPublisher),
        connections: Arc::new(NoConnections),
        telephony: telephony.clone(),
        blobs: Arc::new(FsBlobStore::new(std::env::temp_dir().join("ibrat-fn-dialer"), "http://127.0.0.1/")),
        clock,
        config: Arc::new(Config::for_tests()),
    };

    let dial = |id: &LeadId| QueueMessage::Dial { lead_id: id.clone(), manual: false }.to_body();
    let event = serde_json::json!({ "Records": [
        sqs_record("11111111-1111-1111-1111-111111111111", &dial(&good.id)),
        sqs_record("22222222-2222-2222-2222-222222222222", &dial(&flaky.id)),
        sqs_record("33333333-3333-3333-3333-333333333333", "not json"),
    ]});
    let event: SqsEvent = serde_json::from_value(event).unwrap();
    let response = fn_dialer::handle_batch(&deps, event).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec!["22222222-2222-2222-2222-222222222222".to_owned()]);
    assert_eq!(telephony.0.lock().unwrap().len(), 1);
    let stored = repo::leads::get(&store.inner, &good.id).await.unwrap().unwrap();
    assert_eq!(stored.status, LeadStatus::Dialing);

    // The response serialises as Lambda expects it.
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "22222222-2222-2222-2222-222222222222");

    // Redelivered, the good record is a harmless duplicate.
    let again: SqsEvent =
        serde_json::from_value(serde_json::json!({ "Records": [sqs_record("4", &dial(&good.id))] })).unwrap();
    assert!(fn_dialer::handle_batch(&deps, again).await.batch_item_failures.is_empty());
    assert_eq!(telephony.0.lock().unwrap().len(), 1);
    let _ = queue.receive(10, Duration::ZERO, Duration::from_secs(1)).await.unwrap();
}
