//! What every Lambda `main` shares, so the six functions cannot drift: the
//! ports built once per container from the AWS adapters and the environment
//! (see `template.yaml`), and JSON tracing for CloudWatch.

use std::sync::Arc;

use ibrat_aws::{ApiGatewaySender, DynamoStore, S3Blobs, SqsQueue};
use ibrat_ports::{ConnectionSender, Store, SystemClock};
use ibrat_services::realtime::Fanout;
use ibrat_services::{Config, Deps};
use ibrat_twilio::TwilioClient;
use lambda_runtime::Error;

/// A required environment variable; the function refuses to start without it.
fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// Builds every port from the AWS adapters: DynamoDB table, SQS dial queue,
/// S3 imports bucket, API Gateway management API (`deps.connections`, which
/// the `ws` function also replies through), Twilio.
pub async fn aws_ports() -> Result<Deps, Error> {
    let sdk = aws_config::load_from_env().await;
    let config = Config::from_env()?;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(&sdk, env("TABLE_NAME")?));
    let sender: Arc<dyn ConnectionSender> = Arc::new(ApiGatewaySender::new(&sdk, env("WS_ENDPOINT")?));
    let telephony = TwilioClient::new(env("TWILIO_ACCOUNT_SID")?, config.twilio_auth_token.expose().to_owned())?;
    let deps = Deps {
        store: store.clone(),
        queue: Arc::new(SqsQueue::new(&sdk, env("DIAL_QUEUE_URL")?)),
        events: Arc::new(Fanout::new(store, sender.clone())),
        connections: sender,
        telephony: Arc::new(telephony),
        blobs: Arc::new(S3Blobs::new(&sdk, env("IMPORTS_BUCKET")?)),
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    };
    Ok(deps)
}

/// JSON logs filtered by `RUST_LOG`, as CloudWatch reads them best.
pub fn init_tracing() {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
}
