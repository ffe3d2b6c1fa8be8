//! Creating the table from [`TABLE`]: keys, the indexes (every attribute
//! projected), on-demand billing and TTL on `expires_at`. Used by tests and
//! by tools; production creates it from `template.yaml`, which follows the
//! same schema.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use ibrat_ports::store::schema::TABLE;
use ibrat_ports::StoreError;

use super::errors::{build_error, sdk_error};

/// How long to wait for a new table to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(build_error)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_error)
}

/// Creates the table `name` as the schema declares it, waits until it is
/// active, and enables TTL on the schema's TTL attribute.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(TABLE.pk, KeyType::Hash)?)
        .key_schema(key_element(TABLE.sk, KeyType::Range)?)
        .attribute_definitions(string_attribute(TABLE.pk)?)
        .attribute_definitions(string_attribute(TABLE.sk)?);
    for index in TABLE.indexes {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .key_schema(key_element(index.pk, KeyType::Hash)?)
            .key_schema(key_element(index.sk, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(build_error)?;
        request = request
            .global_secondary_indexes(gsi)
            .attribute_definitions(string_attribute(index.pk)?)
            .attribute_definitions(string_attribute(index.sk)?);
    }
    request.send().await.map_err(sdk_error)?;

    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let out = client.describe_table().table_name(name).send().await.map_err(sdk_error)?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Unavailable(format!("table `{name}` did not become active").into()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let ttl =
        TimeToLiveSpecification::builder().attribute_name(TABLE.ttl).enabled(true).build().map_err(build_error)?;
    client.update_time_to_live().table_name(name).time_to_live_specification(ttl).send().await.map_err(sdk_error)?;
    Ok(())
}
