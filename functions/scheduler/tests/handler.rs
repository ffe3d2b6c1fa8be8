//! The scheduler handler on a real EventBridge scheduled event, over the
//! test kit's local adapters.

use std::time::Duration;

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use ibrat_domain::{Priority, Role};
use ibrat_ports::Queue;
use ibrat_services::messages::QueueMessage;
use ibrat_testkit::{lambda, lead, salesperson, TestDeps};

#[tokio::test]
async fn a_scheduled_event_runs_a_tick() {
    let kit = TestDeps::new();
    // Telephony is never reached: the tick only queues dials.
    kit.telephony.refuse_all();
    let (deps, now) = (&kit.deps, kit.now());
    let lead = lead(1, now).priority(Priority::High).store(kit.store.as_ref()).await;
    let sp = salesperson(1, now).no_phone().store(kit.store.as_ref()).await;
    // The salesperson has a live connection, so the presence sweep keeps them.
    ibrat_services::realtime::presence::on_connect(deps, "conn-1", &sp.id, Role::Salesperson).await.unwrap();

    let event: CloudWatchEvent = serde_json::from_value(lambda::scheduled_event()).unwrap();
    let summary = fn_scheduler::handle_scheduled(deps, event).await.unwrap();
    assert_eq!((summary.available, summary.capacity, summary.dispatched), (1, 1, 1));
    assert_eq!(summary.set_away, 0);
    let msgs = kit.queue.receive(10, Duration::ZERO, Duration::from_secs(60)).await.unwrap();
    let dials: Vec<_> = msgs
        .iter()
        .filter_map(|m| match QueueMessage::parse(&m.body) {
            Ok(QueueMessage::Dial { lead_id, .. }) => Some(lead_id),
            _ => None,
        })
        .collect();
    assert_eq!(dials, vec![lead.id]);
}
