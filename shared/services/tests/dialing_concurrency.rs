//! Sixteen dialers racing: the in-flight cap, the calls-per-second limit and
//! one-call-per-lead hold whatever the interleaving. Runs on tokio's paused
//! clock (the harness clock follows it), so rate-limit waits take no real
//! time.

mod dialing_common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use dialing_common::*;
use ibrat_domain::{CallStatus, Priority};
use ibrat_ports::Queue;
use ibrat_services::dialing::{finish_call, handle_message, tick, CallEnd, DialOutcome, MessageOutcome};
use ibrat_services::messages::QueueMessage;
use ibrat_services::{repo, Deps};

const DIALERS: usize = 16;

/// Runs `DIALERS` workers until the queue is empty. With `finish_after`,
/// each placed call is finished (no answer) that long after it was placed.
async fn run_workers(h: &Harness, finish_after: Option<StdDuration>) -> Vec<MessageOutcome> {
    let mut workers = Vec::new();
    for _ in 0..DIALERS {
        let deps: Deps = h.deps.clone();
        let queue = h.queue.clone();
        let tel = h.tel.clone();
        workers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut finishers = Vec::new();
            loop {
                let got = queue.receive(1, StdDuration::ZERO, StdDuration::from_secs(600)).await.unwrap();
                let Some(msg) = got.into_iter().next() else { break };
                if !msg.body.contains("\"dial\"") {
                    queue.delete(&msg.receipt).await.unwrap();
                    continue;
                }
                let out = handle_message(&deps, &msg.body).await.unwrap();
                queue.delete(&msg.receipt).await.unwrap();
                if let (Some(wait), MessageOutcome::Dial { outcome: DialOutcome::Placed { call_id, .. }, .. }) =
                    (finish_after, &out)
                {
                    let (deps, tel, call_id) = (deps.clone(), tel.clone(), call_id.clone());
                    finishers.push(tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        // Counted down before the finish: `active` never
                        // exceeds the calls the store counts in flight.
                        tel.active.fetch_sub(1, Ordering::SeqCst);
                        finish_call(&deps, &call_id, CallEnd::status(CallStatus::NoAnswer)).await.unwrap();
                    }));
                }
                outcomes.push(out);
            }
            for f in finishers {
                f.await.unwrap();
            }
            outcomes
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all
}

fn placed_count(outcomes: &[MessageOutcome]) -> usize {
    outcomes.iter().filter(|o| matches!(o, MessageOutcome::Dial { outcome: DialOutcome::Placed { .. }, .. })).count()
}

#[tokio::test(start_paused = true)]
async fn sixteen_dialers_never_exceed_the_in_flight_cap() {
    let h = Harness::with_clock(Arc::new(TokioClock::new(tuesday_morning())));
    h.settings(|s| s.pacing.max_in_flight = 50).await;
    h.salespeople(5).await;
    for n in 0..30 {
        h.lead(n, Priority::Medium, h.now() - Duration::minutes(1), h.now() - Duration::minutes(n as i64 + 1)).await;
    }
    // Every lead gets a Dial at once (and a duplicate), far beyond the cap.
    let t = tick(&h.deps).await.unwrap();
    assert_eq!(t.capacity, 5);
    h.take_messages().await;
    let mut bodies = Vec::new();
    for n in 0..30 {
        let id = make_lead(n, Priority::Medium, h.now(), h.now(), None).id;
        let body = QueueMessage::Dial { lead_id: id, manual: false }.to_body();
        bodies.push(body.clone());
        bodies.push(body);
    }
    h.queue.send_batch(&bodies).await.unwrap();
    let first = run_workers(&h, None).await;
    assert_eq!(placed_count(&first), 5, "exactly the cap");
    assert_eq!(h.tel.max_active.load(Ordering::SeqCst), 5);
    assert_eq!(h.in_flight().await, 5);

    // Now calls end while others start; ticks keep refilling.
    let finish = StdDuration::from_millis(1500);
    let mut total = 5;
    for cid in h.tel.placed().iter().map(|p| p.req.url.split("call_id=").nth(1).unwrap().to_owned()) {
        h.tel.active.fetch_sub(1, Ordering::SeqCst);
        let call_id = ibrat_domain::CallId::parse(&cid).unwrap();
        finish_call(&h.deps, &call_id, CallEnd::status(CallStatus::NoAnswer)).await.unwrap();
    }
    for _ in 0..20 {
        let t = tick(&h.deps).await.unwrap();
        if t.dispatched.is_empty() {
            break;
        }
        // Duplicate every Dial to add races on the same lead.
        let msgs = h.take_messages().await;
        let doubled: Vec<String> = msgs.iter().chain(msgs.iter()).cloned().collect();
        h.queue.send_batch(&doubled).await.unwrap();
        total += placed_count(&run_workers(&h, Some(finish)).await);
    }
    assert_eq!(total, 30, "every lead dialed");
    assert!(h.tel.max_active.load(Ordering::SeqCst) <= 5, "cap exceeded");
    let phones: HashSet<String> = h.tel.placed().iter().map(|p| p.req.to.clone()).collect();
    assert_eq!(phones.len(), 30, "no lead dialed twice");
    assert_eq!(h.in_flight().await, 0);
}

#[tokio::test(start_paused = true)]
async fn sixteen_dialers_never_exceed_calls_per_second() {
    let h = Harness::with_clock(Arc::new(TokioClock::new(tuesday_morning())));
    h.settings(|s| s.pacing.calls_per_second = 2).await;
    h.salespeople(20).await;
    for n in 0..16 {
        h.lead(n, Priority::High, h.now() - Duration::minutes(1), h.now()).await;
    }
    let t = tick(&h.deps).await.unwrap();
    assert_eq!(t.dispatched.len(), 16);
    let out = run_workers(&h, None).await;
    assert_eq!(placed_count(&out), 16);
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for p in h.tel.placed() {
        *per_second.entry(p.at.timestamp()).or_default() += 1;
    }
    assert!(per_second.values().all(|n| *n <= 2), "{per_second:?}");
    assert_eq!(per_second.len(), 8, "{per_second:?}");
    assert_eq!(h.in_flight().await, 16);

    // The rate slots themselves agree.
    let first = tuesday_morning().timestamp();
    for s in first..first + 8 {
        let slot = ibrat_ports::Store::get(h.store.as_ref(), &repo::keys::rate_slot(s)).await.unwrap().unwrap();
        assert_eq!(slot.n("count"), Some(2));
    }
}

#[tokio::test(start_paused = true)]
async fn sixteen_dialers_on_one_lead_place_one_call() {
    let h = Harness::with_clock(Arc::new(TokioClock::new(tuesday_morning())));
    h.settings(|_| {}).await;
    h.salespeople(3).await;
    let lead = h.lead(1, Priority::Urgent, h.now(), h.now()).await;
    tick(&h.deps).await.unwrap();
    let body = QueueMessage::Dial { lead_id: lead.id.clone(), manual: false }.to_body();
    h.queue.send_batch(&vec![body; DIALERS]).await.unwrap();
    let out = run_workers(&h, None).await;
    assert_eq!(placed_count(&out), 1, "{out:?}");
    assert_eq!(h.tel.placed().len(), 1);
    assert_eq!(h.in_flight().await, 1);
}
