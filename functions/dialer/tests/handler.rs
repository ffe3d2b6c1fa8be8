//! The dialer handler on real SQS event JSON, over local adapters: each
//! record is handled on its own and only retryable failures are reported.

use aws_lambda_events::event::sqs::SqsEvent;
use ibrat_domain::{LeadId, LeadStatus, Priority};
use ibrat_services::messages::QueueMessage;
use ibrat_services::repo;
use ibrat_testkit::{lambda, lead, TestDeps};

#[tokio::test]
async fn each_record_is_handled_alone_and_only_retryable_failures_are_reported() {
    let kit = TestDeps::builder().failing_store().build();
    let now = kit.now();
    let good = lead(1, now).priority(Priority::High).store(kit.store.as_ref()).await;
    let flaky = lead(2, now).priority(Priority::High).store(kit.store.as_ref()).await;
    kit.failing.as_ref().unwrap().break_reads(repo::keys::lead(&flaky.id));
    kit.settings(|_| {}).await;
    // A tick has run with one salesperson: the stored cap allows calls.
    repo::pacing::set_cap(kit.store.as_ref(), 5, now).await.unwrap();
    let deps = &kit.deps;

    let dial = |id: &LeadId| QueueMessage::Dial { lead_id: id.clone(), manual: false }.to_body();
    let event = lambda::sqs_event(&[
        ("11111111-1111-1111-1111-111111111111", &dial(&good.id)),
        ("22222222-2222-2222-2222-222222222222", &dial(&flaky.id)),
        ("33333333-3333-3333-3333-333333333333", "not json"),
    ]);
    let event: SqsEvent = serde_json::from_value(event).unwrap();
    let response = fn_dialer::handle_batch(deps, event).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec!["22222222-2222-2222-2222-222222222222".to_owned()]);
    assert_eq!(kit.telephony.placed().len(), 1);
    let stored = repo::leads::get(kit.store.as_ref(), &good.id).await.unwrap().unwrap();
    assert_eq!(stored.status, LeadStatus::Dialing);

    // The response serialises as Lambda expects it.
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "22222222-2222-2222-2222-222222222222");

    // Redelivered, the good record is a harmless duplicate.
    let again: SqsEvent = serde_json::from_value(lambda::sqs_event(&[("4", &dial(&good.id))])).unwrap();
    assert!(fn_dialer::handle_batch(deps, again).await.batch_item_failures.is_empty());
    assert_eq!(kit.telephony.placed().len(), 1);
    let _ = kit.queue.drain().await;
}
