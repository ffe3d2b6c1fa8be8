//! The queue conformance suite. Every check starts from and leaves behind an
//! empty queue, so [`run_all`] can run them in turn on one queue. Delivery
//! order is never assumed: SQS standard queues are not FIFO.

use crate::queue::{Queue, QueueError, ReceivedMessage, MAX_BODY_BYTES, MAX_DELAY};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LONG_VISIBILITY: Duration = Duration::from_secs(30);
const SHORT_WAIT: Duration = Duration::from_secs(1);
const POLL_WAIT: Duration = Duration::from_secs(5);

/// A marker unique to one check run, so leftovers can never be mistaken for
/// this run's messages.
fn tag(check: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{check}-{nanos}")
}

async fn receive_one(q: &dyn Queue, wait: Duration, visibility: Duration) -> ReceivedMessage {
    let mut got = q.receive(10, wait, visibility).await.expect("receive");
    assert_eq!(got.len(), 1, "expected exactly one message, got {got:?}");
    got.remove(0)
}

async fn assert_empty(q: &dyn Queue) {
    let got = q.receive(10, SHORT_WAIT, LONG_VISIBILITY).await.expect("receive");
    assert!(got.is_empty(), "queue should be empty, got {got:?}");
}

/// A sent message is received once with a fresh receipt, and deleting it
/// (twice, to prove idempotence) removes it.
pub async fn send_receive_delete(q: &dyn Queue) {
    let body = tag("send-receive-delete");
    q.send(&body, Duration::ZERO).await.expect("send");
    let msg = receive_one(q, POLL_WAIT, LONG_VISIBILITY).await;
    assert_eq!(msg.body, body);
    assert_eq!(msg.receive_count, 1);
    assert!(!msg.id.is_empty() && !msg.receipt.is_empty());
    q.delete(&msg.receipt).await.expect("delete");
    q.delete(&msg.receipt).await.expect("second delete is not an error");
    assert_empty(q).await;
}

/// A delayed message stays hidden until its delay has passed.
pub async fn delay_is_honoured(q: &dyn Queue) {
    let body = tag("delay");
    let sent = Instant::now();
    q.send(&body, Duration::from_secs(2)).await.expect("send");
    let early = q.receive(10, Duration::ZERO, LONG_VISIBILITY).await.expect("receive");
    assert!(early.is_empty(), "delayed message visible early: {early:?}");
    let msg = receive_one(q, POLL_WAIT, LONG_VISIBILITY).await;
    assert_eq!(msg.body, body);
    // SQS counts delays in whole seconds; allow for clock granularity.
    assert!(sent.elapsed() >= Duration::from_millis(1500), "delivered after {:?}", sent.elapsed());
    q.delete(&msg.receipt).await.expect("delete");
    assert_empty(q).await;
}

/// A received message that is not deleted comes back after its visibility
/// timeout, with a higher receive count and a new receipt.
pub async fn visibility_timeout_redelivers(q: &dyn Queue) {
    let body = tag("visibility");
    q.send(&body, Duration::ZERO).await.expect("send");
    let first = receive_one(q, POLL_WAIT, Duration::from_secs(1)).await;
    assert_eq!(first.receive_count, 1);
    let hidden = q.receive(10, Duration::ZERO, LONG_VISIBILITY).await.expect("receive");
    assert!(hidden.is_empty(), "message visible while in flight: {hidden:?}");

    let second = receive_one(q, POLL_WAIT, LONG_VISIBILITY).await;
    assert_eq!(second.id, first.id);
    assert_eq!(second.body, body);
    assert_eq!(second.receive_count, 2);
    assert_ne!(second.receipt, first.receipt, "each receipt is unique");
    q.delete(&second.receipt).await.expect("delete");
    assert_empty(q).await;
}

/// Releasing a received message makes it visible again at once.
pub async fn release_makes_visible(q: &dyn Queue) {
    let body = tag("release");
    q.send(&body, Duration::ZERO).await.expect("send");
    let first = receive_one(q, POLL_WAIT, LONG_VISIBILITY).await;
    q.release(&first.receipt, Duration::ZERO).await.expect("release");
    let again = receive_one(q, POLL_WAIT, LONG_VISIBILITY).await;
    assert_eq!(again.id, first.id);
    assert_eq!(again.receive_count, 2);
    q.delete(&again.receipt).await.expect("delete");
    assert_empty(q).await;
}

/// A batch larger than one SQS request (10) is delivered exactly: every
/// body once, nothing else, at most `max` per receive.
pub async fn batch_of_25_delivered_exactly(q: &dyn Queue) {
    let prefix = tag("batch");
    let bodies: Vec<String> = (0..25).map(|i| format!("{prefix}-{i:02}")).collect();
    q.send_batch(&bodies).await.expect("send_batch");
    q.send_batch(&[]).await.expect("empty batch is a no-op");

    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < bodies.len() && Instant::now() < deadline {
        let got = q.receive(7, SHORT_WAIT, LONG_VISIBILITY).await.expect("receive");
        assert!(got.len() <= 7, "receive returned {} messages for max 7", got.len());
        for msg in got {
            assert!(seen.insert(msg.body.clone()), "duplicate delivery of {}", msg.body);
            q.delete(&msg.receipt).await.expect("delete");
        }
    }
    let expected: BTreeSet<String> = bodies.into_iter().collect();
    assert_eq!(seen, expected);
    assert_empty(q).await;
}

/// Long polling returns as soon as a message arrives, not at the deadline.
pub async fn long_poll_wakes_on_send(q: Arc<dyn Queue>) {
    let body = tag("long-poll");
    let poller = {
        let q = Arc::clone(&q);
        tokio::spawn(async move {
            let start = Instant::now();
            let got = q.receive(10, Duration::from_secs(10), LONG_VISIBILITY).await;
            (got, start.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    q.send(&body, Duration::ZERO).await.expect("send");
    let (got, waited) = poller.await.expect("poller task");
    let got = got.expect("receive");
    assert_eq!(got.len(), 1, "got {got:?}");
    assert_eq!(got[0].body, body);
    assert!(waited < Duration::from_secs(8), "long poll waited {waited:?}");
    q.delete(&got[0].receipt).await.expect("delete");
    assert_empty(q.as_ref()).await;
}

/// Requests SQS would refuse are refused up front as `Invalid`, and a batch
/// with one bad body sends nothing.
pub async fn invalid_requests_are_refused(q: &dyn Queue) {
    let too_long = MAX_DELAY + Duration::from_secs(1);
    let err = q.send("x", too_long).await.expect_err("delay over the limit");
    assert!(matches!(err, QueueError::Invalid(_)) && !err.is_retryable(), "got {err:?}");

    let huge = "x".repeat(MAX_BODY_BYTES + 1);
    let err = q.send(&huge, Duration::ZERO).await.expect_err("body over the limit");
    assert!(matches!(err, QueueError::Invalid(_)), "got {err:?}");

    let batch = vec![tag("invalid-batch"), huge];
    let err = q.send_batch(&batch).await.expect_err("batch with a body over the limit");
    assert!(matches!(err, QueueError::Invalid(_)), "got {err:?}");
    assert_empty(q).await;
}

/// Runs every check in turn on one (initially empty) queue.
pub async fn run_all(q: Arc<dyn Queue>) {
    send_receive_delete(q.as_ref()).await;
    delay_is_honoured(q.as_ref()).await;
    visibility_timeout_redelivers(q.as_ref()).await;
    release_makes_visible(q.as_ref()).await;
    batch_of_25_delivered_exactly(q.as_ref()).await;
    long_poll_wakes_on_send(Arc::clone(&q)).await;
    invalid_requests_are_refused(q.as_ref()).await;
}
