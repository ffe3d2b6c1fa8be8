//! Object storage on S3. Objects are streamed chunk by chunk as the SDK
//! receives them, so a large CSV import never sits whole in a Lambda's memory.

use async_trait::async_trait;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use aws_smithy_types::error::display::DisplayErrorContext;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_ports::{BlobError, BlobStore, ContentStream};
use std::time::Duration;

/// Longest key accepted (S3's limit).
const MAX_KEY_BYTES: usize = 1024;
/// Size of each part of a streamed write (S3 wants at least 5 MiB but the last).
const PART_BYTES: usize = 8 * 1024 * 1024;

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

    async fn put_stream(&self, key: &str, content_type: &str, mut chunks: ContentStream) -> Result<u64, BlobError> {
        validate_key(key)?;
        let mut buffer = BytesMut::new();
        let mut size = 0u64;
        // Fill the first part: a stream that ends before it is one plain put.
        while buffer.len() < PART_BYTES {
            match chunks.next().await {
                None => {
                    self.client
                        .put_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .content_type(content_type)
                        .body(ByteStream::from(buffer.freeze()))
                        .send()
                        .await
                        .map_err(|err| unavailable("writing", key, &err))?;
                    return Ok(size);
                }
                Some(Err(source)) => return Err(BlobError::Content { key: key.to_owned(), source }),
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    buffer.extend_from_slice(&chunk);
                }
            }
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|err| unavailable("starting an upload of", key, &err))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| BlobError::Unavailable(format!("starting an upload of `{key}`: no upload id")))?
            .to_owned();
        let result = self.upload_parts(key, &upload_id, buffer, size, &mut chunks).await;
        if result.is_err() {
            // Without completion nothing is stored; aborting frees the parts.
            if let Err(err) =
                self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(&upload_id).send().await
            {
                tracing::warn!(key, error = %DisplayErrorContext(&err), "an abandoned upload could not be aborted");
            }
        }
        result
    }

    async fn presign_get(&self, key: &str, ttl: Duration, file_name: &str) -> Result<String, BlobError> {
        validate_key(key)?;
        let config = PresigningConfig::expires_in(ttl).map_err(|err| unavailable("presigning", key, &err))?;
        let name: String =
            file_name.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '\\')).take(200).collect();
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{name}\""))
            .presigned(config)
            .await
            .map_err(|err| unavailable("presigning", key, &err))?;
        Ok(request.uri().to_owned())
    }

    async fn renotify(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        // S3 refuses to copy an object onto itself unless something changes:
        // replacing the metadata (with the time of the copy) is that change.
        let source = format!("{}/{}", self.bucket, ibrat_ports::blobs::encode_key_path(key));
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

impl S3Blobs {
    /// Uploads `first` and the rest of `chunks` as parts of `upload_id`,
    /// then completes the upload; returns the object's size.
    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        mut buffer: BytesMut,
        mut size: u64,
        chunks: &mut ContentStream,
    ) -> Result<u64, BlobError> {
        let mut parts = Vec::new();
        let mut ended = false;
        while !ended || !buffer.is_empty() {
            while !ended && buffer.len() < PART_BYTES {
                match chunks.next().await {
                    None => ended = true,
                    Some(Err(source)) => return Err(BlobError::Content { key: key.to_owned(), source }),
                    Some(Ok(chunk)) => {
                        size += chunk.len() as u64;
                        buffer.extend_from_slice(&chunk);
                    }
                }
            }
            let take = buffer.len().min(PART_BYTES);
            let part = buffer.split_to(take).freeze();
            let number = parts.len() as i32 + 1;
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(|err| unavailable("uploading a part of", key, &err))?;
            parts.push(
                CompletedPart::builder().part_number(number).set_e_tag(uploaded.e_tag().map(str::to_owned)).build(),
            );
        }
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await;
        match completed {
            Ok(_) => Ok(size),
            Err(err) => match self.completed_anyway(key, &err).await {
                true => Ok(size),
                false => Err(unavailable("completing the upload of", key, &err)),
            },
        }
    }

    /// True when a completion the SDK could not read did complete: S3
    /// answers 200 before it finishes (an error then comes in that body),
    /// and some emulators name the answer's root differently (moto 5.2,
    /// getmoto/moto#10055). A 200 body that is no `<Error>` and names an
    /// `ETag` the object now has is a completed upload.
    async fn completed_anyway(
        &self,
        key: &str,
        err: &SdkError<CompleteMultipartUploadError, aws_sdk_s3::config::http::HttpResponse>,
    ) -> bool {
        let Some(raw) = err.raw_response().filter(|r| r.status().as_u16() == 200) else { return false };
        let Some(body) = raw.body().bytes().map(String::from_utf8_lossy) else { return false };
        if body.contains("<Error>") {
            return false;
        }
        let Some(etag) = body.split("<ETag>").nth(1).and_then(|rest| rest.split("</ETag>").next()) else {
            return false;
        };
        let unquote = |t: &str| t.replace("&quot;", "").replace('"', "");
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => head.e_tag().is_some_and(|now| unquote(now) == unquote(etag)),
            Err(_) => false,
        }
    }
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
