//! In-process work queue with SQS's delivery semantics (delays, visibility
//! timeouts, receive counts, long polling), so local mode exercises the same
//! redelivery paths the Lambda deployment relies on.

use async_trait::async_trait;
use ibrat_ports::queue::{MAX_BODY_BYTES, MAX_DELAY};
use ibrat_ports::{Queue, QueueError, ReceivedMessage};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Most messages one `receive` returns, as on SQS.
const MAX_RECEIVE: usize = 10;

#[derive(Debug)]
struct Stored {
    id: String,
    body: String,
    visible_at: Instant,
    receive_count: u32,
}

#[derive(Debug, Default)]
struct State {
    /// Keyed by send order, so delivery is roughly oldest first.
    messages: BTreeMap<u64, Stored>,
    next_seq: u64,
}

impl State {
    fn push(&mut self, body: String, visible_at: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = uuid::Uuid::new_v4().to_string();
        self.messages.insert(seq, Stored { id, body, visible_at, receive_count: 0 });
    }

    /// The message a receipt still owns: a receipt is only current until the
    /// message is received again or deleted.
    fn owned(&mut self, receipt: &Receipt) -> Option<&mut Stored> {
        self.messages.get_mut(&receipt.seq).filter(|m| m.receive_count == receipt.count)
    }

    fn earliest_hidden(&self, now: Instant) -> Option<Instant> {
        self.messages.values().map(|m| m.visible_at).filter(|at| *at > now).min()
    }
}

/// A receipt names one receipt of one message: `<seq>.<receive_count>`.
struct Receipt {
    seq: u64,
    count: u32,
}

impl Receipt {
    fn encode(seq: u64, count: u32) -> String {
        format!("{seq}.{count}")
    }

    fn parse(receipt: &str) -> Result<Self, QueueError> {
        let invalid = || QueueError::Invalid(format!("malformed receipt `{receipt}`"));
        let (seq, count) = receipt.split_once('.').ok_or_else(invalid)?;
        Ok(Receipt { seq: seq.parse().map_err(|_| invalid())?, count: count.parse().map_err(|_| invalid())? })
    }
}

/// An in-memory [`Queue`]; cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemQueue {
    state: Mutex<State>,
    /// Woken whenever a message may have become visible early (send, release).
    changed: Notify,
}

impl MemQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages held, visible or not; for tests and diagnostics.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    /// True when no message is held at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-updated in
        // a way that matters for hints, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take_visible(&self, max: usize, visibility: Duration) -> (Vec<ReceivedMessage>, Option<Instant>) {
        let now = Instant::now();
        let mut state = self.lock();
        let mut out = Vec::new();
        for (seq, msg) in state.messages.iter_mut() {
            if out.len() >= max {
                break;
            }
            if msg.visible_at > now {
                continue;
            }
            msg.receive_count = msg.receive_count.saturating_add(1);
            msg.visible_at = later(now, visibility);
            out.push(ReceivedMessage {
                id: msg.id.clone(),
                body: msg.body.clone(),
                receipt: Receipt::encode(*seq, msg.receive_count),
                receive_count: msg.receive_count,
            });
        }
        let next = if out.is_empty() { state.earliest_hidden(now) } else { None };
        (out, next)
    }
}

/// `now + d`, capped so absurd durations cannot overflow `Instant`.
fn later(now: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(365 * 24 * 3600);
    now + d.min(FAR)
}

fn validate(body: &str, delay: Duration) -> Result<(), QueueError> {
    if body.is_empty() {
        return Err(QueueError::Invalid("empty message body".into()));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(QueueError::Invalid(format!("message body of {} bytes exceeds {MAX_BODY_BYTES}", body.len())));
    }
    if delay > MAX_DELAY {
        return Err(QueueError::Invalid(format!("delay {delay:?} exceeds {MAX_DELAY:?}")));
    }
    Ok(())
}

#[async_trait]
impl Queue for MemQueue {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        validate(body, delay)?;
        self.lock().push(body.to_owned(), Instant::now() + delay);
        // Even a delayed message wakes pollers: they re-plan their sleep.
        self.changed.notify_waiters();
        Ok(())
    }

    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError> {
        // All or nothing: a bad body refuses the whole batch before any send.
        for body in bodies {
            validate(body, Duration::ZERO)?;
        }
        if bodies.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        {
            let mut state = self.lock();
            for body in bodies {
                state.push(body.clone(), now);
            }
        }
        self.changed.notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let max = max.min(MAX_RECEIVE);
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = later(Instant::now(), wait);
        loop {
            // Register interest before looking, so a send between the look
            // and the wait still wakes us.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();

            let (found, next_visible) = self.take_visible(max, visibility);
            if !found.is_empty() || Instant::now() >= deadline {
                return Ok(found);
            }
            let wake_at = next_visible.map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let receipt = Receipt::parse(receipt)?;
        let mut state = self.lock();
        if state.owned(&receipt).is_some() {
            state.messages.remove(&receipt.seq);
        }
        Ok(())
    }

    async fn release(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError> {
        let receipt = Receipt::parse(receipt)?;
        let found = {
            let mut state = self.lock();
            match state.owned(&receipt) {
                Some(msg) => {
                    msg.visible_at = later(Instant::now(), visibility);
                    true
                }
                None => false,
            }
        };
        if found {
            self.changed.notify_waiters();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibrat_ports::conformance::queue as suite;
    use std::sync::Arc;

    #[tokio::test]
    async fn conformance() {
        suite::run_all(Arc::new(MemQueue::new())).await;
    }

    #[tokio::test]
    async fn stale_receipt_does_not_delete_a_redelivered_message() {
        let q = MemQueue::new();
        q.send("x", Duration::ZERO).await.unwrap();
        let first = q.receive(1, Duration::ZERO, Duration::ZERO).await.unwrap();
        let second = q.receive(1, Duration::ZERO, Duration::from_secs(30)).await.unwrap();
        assert_eq!(second[0].receive_count, 2);
        q.delete(&first[0].receipt).await.unwrap();
        assert_eq!(q.len(), 1, "the old receipt no longer owns the message");
        q.delete(&second[0].receipt).await.unwrap();
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn malformed_receipt_is_invalid() {
        let q = MemQueue::new();
        assert!(matches!(q.delete("nope").await, Err(QueueError::Invalid(_))));
        assert!(matches!(q.release("1.x", Duration::ZERO).await, Err(QueueError::Invalid(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn long_poll_sleeps_until_a_delayed_message_is_due() {
        let q = MemQueue::new();
        q.send("later", Duration::from_secs(60)).await.unwrap();
        let start = Instant::now();
        let got = q.receive(10, Duration::from_secs(120), Duration::from_secs(30)).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn long_poll_gives_up_at_the_deadline() {
        let q = MemQueue::new();
        let start = Instant::now();
        let got = q.receive(10, Duration::from_secs(20), Duration::from_secs(30)).await.unwrap();
        assert!(got.is_empty());
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }
}
