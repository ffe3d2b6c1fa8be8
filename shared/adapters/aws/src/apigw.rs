//! Posting to WebSocket clients through API Gateway's management API. A
//! client that has gone away answers 410, which becomes [`PostError::Gone`]
//! so the caller can drop the connection record.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::delete_connection::DeleteConnectionError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_smithy_types::error::display::DisplayErrorContext;
use ibrat_ports::{ConnectionSender, PostError};

/// A [`ConnectionSender`] for one deployed WebSocket API stage.
#[derive(Debug, Clone)]
pub struct ApiGatewaySender {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewaySender {
    /// A sender for the API whose callback URL is `endpoint`, i.e.
    /// `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`; the
    /// management API has no regional default, so the URL is required.
    pub fn new(config: &aws_config::SdkConfig, endpoint: impl Into<String>) -> Self {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config).endpoint_url(endpoint).build();
        Self::from_client(aws_sdk_apigatewaymanagement::Client::from_conf(conf))
    }

    /// A sender using an already built client (its endpoint must be set).
    pub fn from_client(client: aws_sdk_apigatewaymanagement::Client) -> Self {
        Self { client }
    }
}

/// True for an error that means the connection no longer exists: the typed
/// `GoneException`, or any HTTP 410 (proxies may strip the error type).
fn is_gone<E>(err: &SdkError<E, HttpResponse>, typed_gone: impl FnOnce(&E) -> bool) -> bool {
    match err {
        SdkError::ServiceError(service) => typed_gone(service.err()) || service.raw().status().as_u16() == 410,
        SdkError::ResponseError(response) => response.raw().status().as_u16() == 410,
        _ => false,
    }
}

#[async_trait]
impl ConnectionSender for ApiGatewaySender {
    async fn post(&self, connection_id: &str, payload: &[u8]) -> Result<(), PostError> {
        let result =
            self.client.post_to_connection().connection_id(connection_id).data(Blob::new(payload)).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_gone(&err, |e| matches!(e, PostToConnectionError::GoneException(_))) => Err(PostError::Gone),
            Err(err) => Err(PostError::Failed(DisplayErrorContext(&err).to_string())),
        }
    }

    async fn close(&self, connection_id: &str) {
        let result = self.client.delete_connection().connection_id(connection_id).send().await;
        match result {
            Ok(_) => {}
            Err(err) if is_gone(&err, |e| matches!(e, DeleteConnectionError::GoneException(_))) => {}
            Err(err) => {
                tracing::warn!(connection_id, error = %DisplayErrorContext(&err), "closing connection failed");
            }
        }
    }
}
