//! The api Lambda: the REST router behind API Gateway (HTTP API, payload
//! v2) through lambda_http. Builds its ports once per container from the
//! AWS adapters, creates the first admin when configured, then serves.

use std::sync::Arc;

use ibrat_aws::{ApiGatewaySender, DynamoStore, S3Blobs, SqsQueue};
use ibrat_ports::SystemClock;
use ibrat_services::realtime::Fanout;
use ibrat_services::{Config, Deps};
use ibrat_twilio::TwilioClient;
use lambda_http::Error;

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// The ports of this function, from the environment (see `template.yaml`).
async fn build_deps() -> Result<Deps, Error> {
    let sdk = aws_config::load_from_env().await;
    let config = Config::from_env()?;
    let store: Arc<dyn ibrat_ports::Store> = Arc::new(DynamoStore::new(&sdk, env("TABLE_NAME")?));
    let sender = Arc::new(ApiGatewaySender::new(&sdk, env("WS_ENDPOINT")?));
    let telephony = TwilioClient::new(env("TWILIO_ACCOUNT_SID")?, config.twilio_auth_token.expose().to_owned())?;
    Ok(Deps {
        store: store.clone(),
        queue: Arc::new(SqsQueue::new(&sdk, env("DIAL_QUEUE_URL")?)),
        events: Arc::new(Fanout::new(store, sender)),
        telephony: Arc::new(telephony),
        blobs: Arc::new(S3Blobs::new(&sdk, env("IMPORTS_BUCKET")?)),
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let deps = build_deps().await?;
    match fn_api::bootstrap_admin_from_env(&deps).await {
        Ok(Some(outcome)) => tracing::info!(?outcome, "admin bootstrap"),
        Ok(None) => {}
        // A failed bootstrap must not take the API down; it is logged.
        Err(e) => tracing::error!(error = %e, "admin bootstrap failed"),
    }
    lambda_http::run(fn_api::app(deps)).await
}
