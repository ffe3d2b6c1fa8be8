//! The connection fan-out conformance suite. Adapters differ in how a
//! connection is opened and how delivered bytes are observed, so those two
//! steps come from a [`ConnectionHarness`].

use crate::connections::{ConnectionSender, PostError};
use async_trait::async_trait;

/// Test-side access to the far end of an adapter's connections.
#[async_trait]
pub trait ConnectionHarness: Send + Sync {
    /// Opens a connection the sender can post to and returns its id.
    async fn connect(&self) -> String;

    /// Every byte delivered to `connection_id` so far, in order.
    async fn received(&self, connection_id: &str) -> Vec<u8>;
}

fn unique_id(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}{nanos}")
}

/// Posting to a connection that never existed is `Gone`, so callers forget it.
pub async fn unknown_connection_is_gone(sender: &dyn ConnectionSender) {
    let id = unique_id("conformance-unknown-");
    match sender.post(&id, b"{\"hello\":1}").await {
        Err(PostError::Gone) => {}
        other => panic!("expected Gone for unknown connection, got {other:?}"),
    }
}

/// Posts to a live connection arrive intact and in order.
pub async fn posts_arrive(sender: &dyn ConnectionSender, harness: &dyn ConnectionHarness) {
    let id = harness.connect().await;
    let first = br#"{"type":"call.updated","id":"c1"}"#;
    let second = "{\"type\":\"lead.updated\",\"name\":\"Dilnoza Rahimova \u{2014} \u{1F4DE}\"}".as_bytes();
    sender.post(&id, first).await.expect("first post");
    sender.post(&id, second).await.expect("second post");
    let expected = [first.as_slice(), second].concat();
    assert_eq!(String::from_utf8_lossy(&harness.received(&id).await), String::from_utf8_lossy(&expected));
}

/// After the server closes a connection, posting to it is `Gone`; closing
/// again is harmless.
pub async fn closed_connection_is_gone(sender: &dyn ConnectionSender, harness: &dyn ConnectionHarness) {
    let id = harness.connect().await;
    sender.post(&id, b"before close").await.expect("post before close");
    sender.close(&id).await;
    match sender.post(&id, b"after close").await {
        Err(PostError::Gone) => {}
        other => panic!("expected Gone after close, got {other:?}"),
    }
    sender.close(&id).await;
}

/// Runs every check in turn.
pub async fn run_all(sender: &dyn ConnectionSender, harness: &dyn ConnectionHarness) {
    unknown_connection_is_gone(sender).await;
    posts_arrive(sender, harness).await;
    closed_connection_is_gone(sender, harness).await;
}
