//! placeholder

pub mod apigw;
pub mod s3;
pub mod sqs;

pub use apigw::ApiGatewaySender;
pub use s3::S3Blobs;
pub use sqs::SqsQueue;
