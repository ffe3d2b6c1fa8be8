//! The twilio-webhook Lambda (a function URL): Twilio's voice, status and
//! dial callbacks. Builds its ports once per container from the AWS
//! adapters; every request's signature is checked by the router.

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    fn_common::init_tracing();
    let deps = fn_common::aws_ports().await?;
    if deps.config.twilio_auth_token.expose().is_empty() {
        // Every request would be refused; say why once, loudly.
        tracing::error!("TWILIO_AUTH_TOKEN is empty: every webhook request will be refused");
    }
    lambda_http::run(fn_twilio_webhook::app(deps)).await
}
