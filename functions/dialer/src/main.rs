//! The dialer Lambda: consumes the dial queue (SQS, partial batch
//! failures). Builds its ports once per container from the AWS adapters.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fn_common::init_tracing();
    let deps = fn_common::aws_ports().await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(fn_dialer::handle_batch(deps, event.payload).await)
    }))
    .await
}
