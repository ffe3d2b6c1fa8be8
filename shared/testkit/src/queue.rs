//! The in-memory queue, also recording what was sent and with which delay
//! (what the dialer and the call flow ask of SQS is part of their contract).

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use ibrat_local::MemQueue;
use ibrat_ports::{Queue, QueueError, ReceivedMessage};

/// A [`MemQueue`] that records every body sent.
#[derive(Default)]
pub struct RecordingQueue {
    inner: MemQueue,
    sent: Mutex<Vec<(String, Duration)>>,
}

impl RecordingQueue {
    /// Every body sent so far, with its delay (batches have none).
    pub fn sent(&self) -> Vec<(String, Duration)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Messages waiting (visible or not).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Takes every visible message off the queue, in order, without
    /// handling it; returns the bodies.
    pub async fn drain(&self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let got = self.inner.receive(10, Duration::ZERO, Duration::from_secs(600)).await.expect("receive");
            if got.is_empty() {
                return out;
            }
            for m in got {
                self.inner.delete(&m.receipt).await.expect("delete");
                out.push(m.body);
            }
        }
    }
}

#[async_trait]
impl Queue for RecordingQueue {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push((body.to_owned(), delay));
        self.inner.send(body, delay).await
    }

    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).extend(bodies.iter().map(|b| (b.clone(), Duration::ZERO)));
        self.inner.send_batch(bodies).await
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.inner.receive(max, wait, visibility).await
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(receipt).await
    }

    async fn release(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError> {
        self.inner.release(receipt, visibility).await
    }
}
