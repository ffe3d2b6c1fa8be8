//! The api Lambda: the REST router behind API Gateway (HTTP API, payload
//! v2) through lambda_http. Builds its ports once per container from the
//! AWS adapters, creates the first admin when configured, then serves.

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    fn_common::init_tracing();
    let deps = fn_common::aws_ports().await?;
    match fn_api::bootstrap_admin_from_env(&deps).await {
        Ok(Some(outcome)) => tracing::info!(?outcome, "admin bootstrap"),
        Ok(None) => {}
        // A failed bootstrap must not take the API down; it is logged.
        Err(e) => tracing::error!(error = %e, "admin bootstrap failed"),
    }
    lambda_http::run(fn_api::app(deps)).await
}
