//! `DynamoStore` against the moto emulator: the full store conformance
//! suite, plus what only this adapter must prove (requests of at most 25
//! writes, the table's layout, a manual clock deciding expiry).

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{ProjectionType, TimeToLiveStatus};
use chrono::{TimeZone, Utc};
use ibrat_aws::{create_table, DynamoStore};
use ibrat_ports::conformance::store as suite;
use ibrat_ports::store::schema::TABLE;
use ibrat_ports::store::MAX_BATCH_WRITE_ITEMS;
use ibrat_ports::{Item, Key, ManualClock, Query, Store};
use ibrat_testkit::moto::{serialized, Moto};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Client configuration pointing every SDK client at the emulator.
async fn sdk_config(endpoint: &str) -> SdkConfig {
    ibrat_testkit::moto::sdk_config(endpoint, "us-east-1").await
}

/// A table name no other test in this process uses.
fn unique_table() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("ibrat-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A fresh table on the emulator (through the serializing proxy), and the
/// client configuration reaching it.
async fn table(moto: &Moto) -> (SdkConfig, String) {
    let config = sdk_config(&serialized(moto.endpoint()).await).await;
    let name = unique_table();
    create_table(&aws_sdk_dynamodb::Client::new(&config), &name).await.expect("create table");
    (config, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_store_conforms() {
    let moto = Moto::start().await;
    let (config, name) = table(&moto).await;
    suite::run_all(Arc::new(DynamoStore::new(&config, name))).await;
}

/// Records how many writes each `BatchWriteItem` request carried.
#[derive(Debug, Default, Clone)]
struct BatchSizes(Arc<Mutex<Vec<usize>>>);

impl Intercept for BatchSizes {
    fn name(&self) -> &'static str {
        "BatchSizes"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        if request.headers().get("x-amz-target") != Some("DynamoDB_20120810.BatchWriteItem") {
            return Ok(());
        }
        let body: serde_json::Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())?;
        let writes = body["RequestItems"]
            .as_object()
            .map_or(0, |tables| tables.values().map(|w| w.as_array().map_or(0, Vec::len)).sum());
        self.0.lock().unwrap().push(writes);
        Ok(())
    }
}

#[tokio::test]
async fn batch_writes_are_split_into_requests_of_at_most_25() {
    let moto = Moto::start().await;
    let (config, name) = table(&moto).await;
    let sizes = BatchSizes::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(&config).interceptor(sizes.clone()).build();
    let store = DynamoStore::from_client(aws_sdk_dynamodb::Client::from_conf(conf), name);

    let item = |i: usize| Item::with_key(&Key::new("BATCH", format!("{i:03}"))).with("i", i as i64);
    store.batch_write((0..60).map(item).collect(), Vec::new()).await.expect("60 puts");
    let mut sent = sizes.0.lock().unwrap().clone();
    sent.sort_unstable();
    assert_eq!(sent, vec![10, 25, 25], "60 puts go out as 25 + 25 + 10");

    sizes.0.lock().unwrap().clear();
    let deletes: Vec<Key> = (0..30).map(|i| Key::new("BATCH", format!("{i:03}"))).collect();
    // Key 0 is put and deleted: it is written once (deleted), like locally.
    store.batch_write(vec![item(0).with("again", true), item(99)], deletes).await.expect("mixed batch");
    let sent = sizes.0.lock().unwrap().clone();
    assert!(sent.iter().all(|n| *n <= MAX_BATCH_WRITE_ITEMS), "{sent:?}");
    assert_eq!(sent.iter().sum::<usize>(), 31, "one write per key: {sent:?}");

    let left = store.query(&Query::partition("BATCH")).await.expect("query").items;
    assert_eq!(left.len(), 31, "60 - 30 deleted + 1 new");
    assert_eq!(left.first().and_then(|i| i.s("sk")), Some("030"));
}

#[tokio::test]
async fn the_table_follows_the_schema() {
    let moto = Moto::start().await;
    let (config, name) = table(&moto).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let described = client.describe_table().table_name(&name).send().await.expect("describe");
    let table = described.table().expect("table");
    let keys: Vec<&str> = table.key_schema().iter().map(|k| k.attribute_name()).collect();
    assert_eq!(keys, vec![TABLE.pk, TABLE.sk]);
    let mut indexes: Vec<(&str, Option<&ProjectionType>)> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| (i.index_name().unwrap_or_default(), i.projection().and_then(|p| p.projection_type())))
        .collect();
    indexes.sort_by_key(|(n, _)| *n);
    let want: Vec<(&str, Option<&ProjectionType>)> =
        TABLE.indexes.iter().map(|i| (i.name, Some(&ProjectionType::All))).collect();
    assert_eq!(indexes, want);
    let ttl = client.describe_time_to_live().table_name(&name).send().await.expect("describe ttl");
    let ttl = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(ttl.attribute_name(), Some(TABLE.ttl));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn a_manual_clock_decides_expiry() {
    let moto = Moto::start().await;
    let (config, name) = table(&moto).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let clock = Arc::new(ManualClock::new(Utc.timestamp_opt(1_000_000, 0).single().expect("time")));
    let store = DynamoStore::from_client(client, name).with_clock(clock.clone());
    let key = Key::new("CONN#1", "CONN");
    store.put(Item::with_key(&key).with(TABLE.ttl, 1_000_060i64), None).await.expect("put");
    assert!(store.get(&key).await.expect("get").is_some(), "not yet expired");
    clock.advance(chrono::Duration::seconds(60));
    assert!(store.get(&key).await.expect("get").is_none(), "expired once the clock reaches expires_at");
}
