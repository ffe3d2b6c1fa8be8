//! AWS adapters for the ports: DynamoDB store, SQS queue, S3 blobs and API Gateway WebSocket posts.

pub mod apigw;
pub mod dynamodb;
pub mod s3;
pub mod sqs;

pub use apigw::ApiGatewaySender;
pub use dynamodb::{create_table, DynamoStore};
pub use s3::S3Blobs;
pub use sqs::SqsQueue;
