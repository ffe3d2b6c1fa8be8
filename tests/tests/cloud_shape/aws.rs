//! The AWS side of the cloud-shaped test: the moto emulator with the
//! table, the dial queue and the imports bucket created as the template
//! creates them, SDK configuration pointing at it, and moto's request
//! recorder to read back what was posted to WebSocket connections.

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine as _;
use ibrat_testkit::moto::{serialized, Moto};
use serde_json::Value;
use std::collections::HashMap;

/// Region everything lives in (moto accepts any).
pub const REGION: &str = "eu-central-1";
/// The account moto reports in ARNs.
pub const ACCOUNT: &str = "123456789012";

/// The emulator and the resources the functions use.
pub struct Cloud {
    pub moto: Moto,
    /// Reaches moto directly (SQS, S3, the management API).
    pub config: SdkConfig,
    /// Reaches moto's DynamoDB through the serialising proxy (see `ibrat_testkit::moto::serialized`).
    pub dynamo_config: SdkConfig,
    pub table: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub bucket: String,
    pub sqs: aws_sdk_sqs::Client,
}

impl Cloud {
    /// Starts moto and creates the table, the dial queue and the bucket.
    pub async fn start() -> Cloud {
        let moto = Moto::start().await;
        let config = sdk_config(moto.endpoint()).await;
        let dynamo_config = sdk_config(&serialized(moto.endpoint()).await).await;

        let table = "ibrat-e2e-table".to_owned();
        ibrat_aws::create_table(&aws_sdk_dynamodb::Client::new(&dynamo_config), &table)
            .await
            .expect("create the table");

        let sqs = aws_sdk_sqs::Client::new(&config);
        // A short visibility timeout, so a record the dialer reports as
        // failed comes back within the test, as SQS would redeliver it.
        let created = sqs
            .create_queue()
            .queue_name("ibrat-e2e-dial")
            .attributes(QueueAttributeName::VisibilityTimeout, "5")
            .send()
            .await
            .expect("create the dial queue");
        let queue_url = created.queue_url().expect("a queue url").to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_else(|| format!("arn:aws:sqs:{REGION}:{ACCOUNT}:ibrat-e2e-dial"));

        let bucket = "ibrat-e2e-imports".to_owned();
        let s3 =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .expect("create the imports bucket");

        Cloud { moto, config, dynamo_config, table, queue_url, queue_arn, bucket, sqs }
    }

    /// The queue's approximate counts: visible, in flight, delayed.
    pub async fn queue_depth(&self) -> (u64, u64, u64) {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .expect("queue attributes");
        let attrs = out.attributes().cloned().unwrap_or_default();
        let count = |name: QueueAttributeName| attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0);
        (
            count(QueueAttributeName::ApproximateNumberOfMessages),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        )
    }
}

/// Client configuration pointing every SDK client at `endpoint`.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    ibrat_testkit::moto::sdk_config(endpoint, REGION).await
}

/// Moto keeps what is posted to WebSocket connections but exposes it
/// through no API, so posts are read back from its request recorder (as
/// `shared/adapters/aws/tests/moto_ports.rs` does).
pub struct Recorder {
    endpoint: String,
    http: reqwest::Client,
}

impl Recorder {
    /// Clears any earlier recording and starts recording.
    pub async fn start(endpoint: &str) -> Recorder {
        let recorder = Recorder { endpoint: endpoint.to_owned(), http: reqwest::Client::new() };
        recorder.call("reset-recording").await;
        recorder.call("start-recording").await;
        recorder
    }

    async fn call(&self, action: &str) -> String {
        let url = format!("{}/moto-api/recorder/{action}", self.endpoint);
        let response = self.http.post(&url).send().await.unwrap_or_else(|e| panic!("{action}: {e}"));
        assert!(response.status().is_success(), "{action} answered {}", response.status());
        response.text().await.expect("recorder body")
    }

    /// Every JSON message posted (`PostToConnection`) so far, by connection id.
    pub async fn posts(&self) -> HashMap<String, Vec<Value>> {
        let recording = self.call("download-recording").await;
        let mut posts: HashMap<String, Vec<Value>> = HashMap::new();
        for line in recording.lines().filter(|l| !l.trim().is_empty()) {
            let entry: Value = serde_json::from_str(line).expect("a recording line is JSON");
            let url = entry["url"].as_str().unwrap_or_default();
            let Some((_, id)) = url.split_once("/@connections/") else { continue };
            if entry["method"] != "POST" {
                continue;
            }
            let id = id.split('?').next().unwrap_or_default().replace("%3D", "=").replace("%3d", "=");
            let body = entry["body"].as_str().unwrap_or_default();
            let bytes = if entry["body_encoded"] == true {
                base64::engine::general_purpose::STANDARD.decode(body).expect("a base64 body")
            } else {
                body.as_bytes().to_vec()
            };
            let message = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("a post that is not JSON ({e})"));
            posts.entry(id).or_default().push(message);
        }
        posts
    }
}
