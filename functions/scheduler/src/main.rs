//! The scheduler Lambda: runs every minute (EventBridge schedule): presence
//! sweep, scheduler tick, queue statistics. Builds its ports once per container.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fn_common::init_tracing();
    let deps = fn_common::aws_ports().await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<CloudWatchEvent>| async move {
        fn_scheduler::handle_scheduled(deps, event.payload).await.map_err(Error::from)
    }))
    .await
}
