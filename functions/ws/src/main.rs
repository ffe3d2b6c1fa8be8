//! The ws Lambda: API Gateway's WebSocket API ($connect, $disconnect,
//! $default). Builds its ports once per container from the AWS adapters;
//! replies and events go out through the management API.

use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fn_common::init_tracing();
    let deps = fn_common::aws_ports().await?;
    let sender = deps.connections.clone();
    let (deps, sender) = (&deps, sender.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<ApiGatewayProxyResponse, Error>(fn_ws::handle(deps, sender, event.payload).await)
    }))
    .await
}
