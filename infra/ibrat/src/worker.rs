//! The queue consumer of local mode: what the dialer Lambda does for SQS,
//! done for the in-process queue. Each message goes to
//! `ibrat_services::dialing::handle_message` on its own task (so call-rate
//! waits overlap); handled and permanently failed messages are deleted,
//! retryable failures are released for another try after a short pause.

use std::sync::Arc;
use std::time::Duration;

use ibrat_ports::{Queue, ReceivedMessage};
use ibrat_services::dialing::handle_message;
use ibrat_services::Deps;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

/// How the worker polls and retries.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Messages handled at once.
    pub concurrency: usize,
    /// How long a received message stays hidden while it is being handled.
    pub visibility: Duration,
    /// How long a retryable failure waits before the message is visible again.
    pub retry_after: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions { concurrency: 32, visibility: Duration::from_secs(120), retry_after: Duration::from_secs(2) }
    }
}

/// Drains `queue` until `shutdown` turns true, then waits for the messages
/// in hand to finish.
pub async fn run(deps: Deps, queue: Arc<dyn Queue>, options: WorkerOptions, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut running = JoinSet::new();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { break };
        let free = slots.available_permits() + 1;
        let received = tokio::select! {
            _ = shutdown.changed() => break,
            r = queue.receive(free, Duration::from_secs(5), options.visibility) => r,
        };
        // Reap finished handlers so the set does not grow without bound.
        while running.try_join_next().is_some() {}
        let messages = match received {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "the queue could not be read; trying again");
                drop(permit);
                tokio::time::sleep(options.retry_after).await;
                continue;
            }
        };
        // One permit is held for the first message; the rest take their own.
        let mut first = Some(permit);
        for message in messages {
            let permit = match first.take() {
                Some(p) => p,
                None => match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let (deps, queue, options) = (deps.clone(), queue.clone(), options.clone());
            running.spawn(async move {
                handle_one(&deps, queue.as_ref(), &options, message).await;
                drop(permit);
            });
        }
    }
    while running.join_next().await.is_some() {}
}

/// Handles one message and settles it on the queue.
async fn handle_one(deps: &Deps, queue: &dyn Queue, options: &WorkerOptions, message: ReceivedMessage) {
    let span = tracing::info_span!("queue_message", message_id = %message.id, receive_count = message.receive_count);
    let result = handle_message(deps, &message.body).instrument(span).await;
    let settle = match result {
        Ok(outcome) => {
            tracing::debug!(?outcome, "message handled");
            queue.delete(&message.receipt).await
        }
        Err(e) if e.is_retryable() => {
            tracing::warn!(error = %e, "message failed; it will be retried");
            queue.release(&message.receipt, options.retry_after).await
        }
        Err(e) => {
            tracing::error!(error = %e, "message failed permanently; dropping it");
            queue.delete(&message.receipt).await
        }
    };
    if let Err(e) = settle {
        tracing::warn!(error = %e, "a handled message could not be settled on the queue");
    }
}
