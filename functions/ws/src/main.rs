//! The ws Lambda: API Gateway's WebSocket API ($connect, $disconnect,
//! $default). Builds its ports once per container from the AWS adapters;
//! replies and events go out through the management API.

use std::sync::Arc;

use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use ibrat_aws::{ApiGatewaySender, DynamoStore, S3Blobs, SqsQueue};
use ibrat_ports::{ConnectionSender, SystemClock};
use ibrat_services::realtime::Fanout;
use ibrat_services::{Config, Deps};
use ibrat_twilio::TwilioClient;
use lambda_runtime::{service_fn, Error, LambdaEvent};

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// The ports of this function, from the environment (see `template.yaml`),
/// and the sender replies are posted through.
async fn build_deps() -> Result<(Deps, Arc<dyn ConnectionSender>), Error> {
    let sdk = aws_config::load_from_env().await;
    let config = Config::from_env()?;
    let store: Arc<dyn ibrat_ports::Store> = Arc::new(DynamoStore::new(&sdk, env("TABLE_NAME")?));
    let sender: Arc<dyn ConnectionSender> = Arc::new(ApiGatewaySender::new(&sdk, env("WS_ENDPOINT")?));
    let telephony = TwilioClient::new(env("TWILIO_ACCOUNT_SID")?, config.twilio_auth_token.expose().to_owned())?;
    let deps = Deps {
        store: store.clone(),
        queue: Arc::new(SqsQueue::new(&sdk, env("DIAL_QUEUE_URL")?)),
        events: Arc::new(Fanout::new(store, sender.clone())),
        telephony: Arc::new(telephony),
        blobs: Arc::new(S3Blobs::new(&sdk, env("IMPORTS_BUCKET")?)),
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    };
    Ok((deps, sender))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let (deps, sender) = build_deps().await?;
    let (deps, sender) = (&deps, sender.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<ApiGatewayProxyResponse, Error>(fn_ws::handle(deps, sender, event.payload).await)
    }))
    .await
}
