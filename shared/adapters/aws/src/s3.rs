//! Object storage on S3. Objects are streamed chunk by chunk as the SDK
//! receives them, so a large CSV import never sits whole in a Lambda's memory.

use async_trait::async_trait;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::types::MetadataDirective;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_ports::{BlobError, BlobStore};
use std::time::Duration;

/// Longest key accepted (S3's limit).
const MAX_KEY_BYTES: usize = 1024;

/// A [`BlobStore`] backed by one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Blobs {
    /// A store in `bucket`, using the shared AWS configuration. When the
    /// configuration overrides the endpoint (an emulator), path-style
    /// addressing is used, since `bucket.localhost` does not resolve.
    pub fn new(config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let mut builder = aws_sdk_s3::config::Builder::from(config);
        if config.endpoint_url().is_some() {
            builder = builder.force_path_style(true);
        }
        Self::from_client(aws_sdk_s3::Client::from_conf(builder.build()), bucket)
    }

    /// A store using an already built client.
    pub fn from_client(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// The same rules as the local store, so a key that works in local mode
/// works on AWS and the other way round.
fn validate_key(key: &str) -> Result<(), BlobError> {
    let invalid = || BlobError::InvalidKey(key.to_owned());
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.contains(['\\', '\0']) {
        return Err(invalid());
    }
    if key.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err(invalid());
    }
    Ok(())
}

fn unavailable<E: std::error::Error>(action: &str, key: &str, err: &E) -> BlobError {
    BlobError::Unavailable(format!("{action} `{key}`: {}", DisplayErrorContext(err)))
}

/// Yields the body's chunks as they arrive.
fn chunks(body: ByteStream, key: String) -> BoxStream<'static, Result<Bytes, BlobError>> {
    stream::try_unfold(body, move |mut body| {
        let key = key.clone();
        async move {
            match body.try_next().await {
                Ok(Some(chunk)) => Ok(Some((chunk, body))),
                Ok(None) => Ok(None),
                Err(err) => Err(unavailable("reading", &key, &err)),
            }
        }
    })
    .boxed()
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, body: Bytes) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| unavailable("writing", key, &err))?;
        Ok(())
    }

    async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        validate_key(key)?;
        let out = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|err| {
            match err.as_service_error() {
                Some(GetObjectError::NoSuchKey(_)) => BlobError::NotFound(key.to_owned()),
                _ => unavailable("reading", key, &err),
            }
        })?;
        Ok(chunks(out.body, key.to_owned()))
    }

    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        validate_key(key)?;
        let out = self.client.head_object().bucket(&self.bucket).key(key).send().await.map_err(|err| {
            // HEAD responses have no body, so a missing key may only show as a 404.
            let not_found = matches!(err.as_service_error(), Some(HeadObjectError::NotFound(_)))
                || matches!(&err, SdkError::ServiceError(e) if e.raw().status().as_u16() == 404);
            if not_found {
                BlobError::NotFound(key.to_owned())
            } else {
                unavailable("sizing", key, &err)
            }
        })?;
        let length = out.content_length().unwrap_or_default();
        u64::try_from(length)
            .map_err(|_| BlobError::Unavailable(format!("sizing `{key}`: negative content length {length}")))
    }

    async fn presign_put(&self, key: &str, ttl: Duration) -> Result<String, BlobError> {
        validate_key(key)?;
        let config = PresigningConfig::expires_in(ttl).map_err(|err| unavailable("presigning", key, &err))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|err| unavailable("presigning", key, &err))?;
        Ok(request.uri().to_owned())
    }

    async fn renotify(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        // S3 refuses to copy an object onto itself unless something changes:
        // replacing the metadata (with the time of the copy) is that change.
        let source = format!("{}/{}", self.bucket, encode_key(key));
        let at = chrono::Utc::now().to_rfc3339();
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(source)
            .metadata_directive(MetadataDirective::Replace)
            .metadata("renotified-at", at)
            .send()
            .await
            .map_err(|err| {
                let not_found = matches!(&err, SdkError::ServiceError(e) if e.raw().status().as_u16() == 404);
                if not_found {
                    BlobError::NotFound(key.to_owned())
                } else {
                    unavailable("copying in place", key, &err)
                }
            })?;
        Ok(())
    }
}

/// Percent-encodes a key for `x-amz-copy-source`, keeping `/`.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_local_rules() {
        for bad in ["", "/abs", "../x", "a/../x", "a//b", "a/", "a\\b"] {
            assert!(matches!(validate_key(bad), Err(BlobError::InvalidKey(_))), "{bad:?}");
        }
        for good in ["a", "imports/2024/x.csv", "a..b"] {
            assert!(validate_key(good).is_ok(), "{good:?}");
        }
    }
}
