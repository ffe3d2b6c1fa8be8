//! The scheduler handler on a real EventBridge scheduled event, over local
//! adapters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use chrono::{DateTime, Utc};
use ibrat_domain::{Availability, Email, Lead, LeadId, LeadStatus, Phone, Priority, Region, Role, User, UserId};
use ibrat_local::{FsBlobStore, MemQueue, RedbStore};
use ibrat_ports::{
    CallInstruction, Clock, CreateCall, ManualClock, NoConnections, NullPublisher, PlacedCall, Queue, RemoteCall,
    Store, Telephony, TelephonyError,
};
use ibrat_services::messages::QueueMessage;
use ibrat_services::{repo, Config, Deps};

struct NoTelephony;

#[async_trait]
impl Telephony for NoTelephony {
    async fn create_call(&self, _req: &CreateCall) -> Result<PlacedCall, TelephonyError> {
        Err(TelephonyError::Unavailable("not in this test".into()))
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

const SCHEDULED_EVENT: &str = r#"{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2026-11-24T06:00:00Z",
  "region": "eu-central-1",
  "resources": ["arn:aws:events:eu-central-1:123456789012:rule/ibrat-dev-scheduler-EveryMinute"],
  "detail": {}
}"#;

#[tokio::test]
async fn a_scheduled_event_runs_a_tick() {
    let now = DateTime::parse_from_rfc3339("2026-11-24T06:00:00Z").unwrap().with_timezone(&Utc);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let store = Arc::new(RedbStore::in_memory().unwrap().with_clock(clock.clone()));
    let queue = Arc::new(MemQueue::new());
    let deps = Deps {
        store: store.clone(),
        queue: queue.clone(),
        events: Arc::new(NullPublisher),
        connections: Arc::new(NoConnections),
        telephony: Arc::new(NoTelephony),
        blobs: Arc::new(FsBlobStore::new(std::env::temp_dir().join("ibrat-fn-scheduler"), "http://127.0.0.1/")),
        clock,
        config: Arc::new(Config::for_tests()),
    };
    let phone = Phone::parse("+998900000001", Region::default()).unwrap();
    let lead = Lead {
        id: LeadId::for_phone(&phone),
        name: "Lead".into(),
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
    };
    store.put(repo::leads::to_item(&lead), None).await.unwrap();
    let sp = repo::users::UserRecord {
        user: User {
            id: UserId::new(),
            name: "Aziza".into(),
            email: Email::parse("aziza@example.com").unwrap(),
            phone: None,
            role: Role::Salesperson,
            active: true,
            availability: Availability::Available,
            availability_since: now,
            created_at: now,
            updated_at: now,
        },
        password_hash: "$argon2id$x".into(),
    };
    repo::users::create(store.as_ref(), &sp).await.unwrap();
    // The salesperson has a live connection, so the presence sweep keeps them.
    ibrat_services::realtime::presence::on_connect(&deps, "conn-1", &sp.user.id, Role::Salesperson).await.unwrap();

    let event: CloudWatchEvent = serde_json::from_str(SCHEDULED_EVENT).unwrap();
    let summary = fn_scheduler::handle_scheduled(&deps, event).await.unwrap();
    assert_eq!((summary.available, summary.capacity, summary.dispatched), (1, 1, 1));
    assert_eq!(summary.set_away, 0);
    let msgs = queue.receive(10, Duration::ZERO, Duration::from_secs(60)).await.unwrap();
    let dials: Vec<_> = msgs
        .iter()
        .filter_map(|m| match QueueMessage::parse(&m.body) {
            Ok(QueueMessage::Dial { lead_id, .. }) => Some(lead_id),
            _ => None,
        })
        .collect();
    assert_eq!(dials, vec![lead.id]);
}
