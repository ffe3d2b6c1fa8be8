//! The csv-import Lambda: triggered by uploads to the imports bucket
//! (`imports/<id>.csv`). Builds its ports once per container.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    fn_common::init_tracing();
    let deps = fn_common::aws_ports().await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        fn_csv_import::handle(deps, event.payload).await.map(|_| ()).map_err(Error::from)
    }))
    .await
}
