//! The system in the cloud's shape: every step runs through the real Lambda
//! handlers, fed the real event types of `aws_lambda_events` / `lambda_http`,
//! over the real AWS adapters on the moto emulator (DynamoDB single table,
//! SQS dial queue, S3 imports bucket, API Gateway management API), with the
//! Twilio simulator calling the twilio-webhook function through a stand-in
//! for its function URL.
//!
//! 1. api (HTTP API v2 events): bootstrap the admin, open the calling
//!    window, register a salesperson, create an import.
//! 2. ws (WebSocket API events): the salesperson and the admin connect;
//!    the salesperson becomes available.
//! 3. The CSV is PUT to the presigned S3 URL; csv-import gets the S3 event.
//! 4. scheduler (EventBridge scheduled events) queues dials on SQS; the
//!    test plays Lambda's SQS poller: receive, invoke dialer with an SQS
//!    event, delete what it did not report as failed, until drained.
//! 5. The simulator places the calls and posts its webhooks to the function
//!    URL stand-in, which invokes twilio-webhook with function URL events.
//! 6. Posts to WebSocket connections are read back from moto's recorder.
//!
//! Deviations from AWS, all in the test: DynamoDB requests are serialised
//! (moto does not apply conditional writes atomically, see
//! `cloud_shape/aws.rs`); the function URL is plain HTTP on loopback, so its
//! events carry `x-forwarded-proto: http`; the SQS poller and EventBridge
//! are played by the test loop (scheduler every two seconds, not every
//! minute).

mod cloud_shape {
    pub mod aws;
    pub mod events;
    pub mod function_url;
}

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::apigw::ApiGatewayProxyResponse;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::{DateTime, Utc};
use cloud_shape::aws::{Cloud, Recorder};
use cloud_shape::{events, function_url};
use ibrat::demo::leads;
use ibrat_aws::{ApiGatewaySender, DynamoStore, S3Blobs, SqsQueue};
use ibrat_domain::{CallOutcome, CallingWindow, Lead, LeadId, LeadStatus, Phone, Region};
use ibrat_ports::{ConnectionSender, Store, SystemClock, Telephony};
use ibrat_services::messages::QueueMessage;
use ibrat_services::realtime::Fanout;
use ibrat_services::{repo, Config, Deps};
use ibrat_twilio::TwilioClient;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use rand::SeedableRng;
use serde_json::{json, Value};
use twilio_sim::{SimConfig, Simulator};

const ADMIN_EMAIL: &str = "admin@cloud.test";
const SALES_EMAIL: &str = "dilnoza@cloud.test";
const SALES_PHONE: &str = "+998901110001";
const PASSWORD: &str = "cloud-password-123";
/// WebSocket connection ids, shaped as API Gateway makes them.
const SALES_CONN: &str = "Sp0mLdBTliACFxg=";
const ADMIN_CONN: &str = "Ad0mLdBTliACFxg=";
const LEADS: usize = 5;
/// How long the calls may take to settle (the run takes a few seconds).
const SETTLE_WITHIN: Duration = Duration::from_secs(45);
/// Lead statuses that mean "nothing more happens without time passing".
const SETTLED: [LeadStatus; 5] = [
    LeadStatus::Completed,
    LeadStatus::RetryScheduled,
    LeadStatus::NoMoreAttempts,
    LeadStatus::DoNotCall,
    LeadStatus::Invalid,
];

/// Mostly people answering, and the salesperson always picking up, so
/// calls are bridged; no waiting in simulated time.
fn sim_config(auth_token: &str) -> SimConfig {
    SimConfig {
        auth_token: auth_token.to_owned(),
        seed: 20_261_125,
        answer_rate: 0.85,
        machine_rate: 0.05,
        busy_rate: 0.05,
        failed_rate: 0.0,
        salesperson_answer_rate: 1.0,
        ring_secs: (1, 5),
        talk_secs: (5, 30),
        time_scale: 0.0,
        ..SimConfig::default()
    }
}

/// One function's ports, built as every Lambda `main` builds them.
fn cloud_deps(cloud: &Cloud, telephony: Arc<dyn Telephony>, config: Config) -> Deps {
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(&cloud.dynamo_config, &cloud.table));
    let sender: Arc<dyn ConnectionSender> = Arc::new(ApiGatewaySender::new(&cloud.config, cloud.moto.endpoint()));
    Deps {
        store: store.clone(),
        queue: Arc::new(SqsQueue::new(&cloud.config, &cloud.queue_url)),
        events: Arc::new(Fanout::new(store, sender.clone())),
        connections: sender,
        telephony,
        blobs: Arc::new(S3Blobs::new(&cloud.config, &cloud.bucket)),
        clock: Arc::new(SystemClock),
        config: Arc::new(config),
    }
}

/// Invokes the api function with an HTTP API v2 event; status and JSON body.
async fn api(deps: &Deps, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let request = events::http_api(method, path, token, body.as_ref());
    let mut adapter = Adapter::from(fn_api::app(deps.clone()));
    let response = adapter.call(LambdaEvent::new(request, Context::default())).await.expect("the api function answers");
    let response = serde_json::to_value(response).expect("the response serialises");
    let (status, _, body) = events::http_response(&response);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn login(deps: &Deps, email: &str) -> String {
    let (status, body) =
        api(deps, "POST", "/api/auth/login", None, Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(status, 200, "login of {email}: {body}");
    body["access_token"].as_str().expect("an access token").to_owned()
}

/// The widest window the rules allow, every day; calls flow quickly and
/// retries wait an hour, so nothing is redialed while the test looks.
async fn open_calling_window(deps: &Deps, admin: &str) -> CallingWindow {
    let (status, mut settings) = api(deps, "GET", "/api/settings", Some(admin), None).await;
    assert_eq!(status, 200, "{settings}");
    ibrat_testkit::settings::open_every_day(&mut settings);
    settings["retry"]["abandoned_delay_secs"] = json!(3600);
    settings["retry"]["delays_secs"] = json!([3600]);
    // A short wrap-up: its end comes back through SQS as a delayed message.
    settings["wrap_up_secs"] = json!(1);
    let (status, saved) = api(deps, "PUT", "/api/settings", Some(admin), Some(settings)).await;
    assert_eq!(status, 200, "{saved}");
    serde_json::from_value(saved["calling_window"].clone()).expect("a calling window")
}

/// Invokes the ws function; the response must be 200.
async fn ws(
    deps: &Deps,
    sender: &dyn ConnectionSender,
    event: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest,
) {
    let route = event.request_context.route_key.clone().unwrap_or_default();
    let response: ApiGatewayProxyResponse = fn_ws::handle(deps, sender, event).await;
    assert_eq!(response.status_code, 200, "{route} answered {response:?}");
}

async fn lead_of(store: &dyn Store, id: &LeadId) -> Lead {
    repo::leads::get(store, id).await.expect("read a lead").unwrap_or_else(|| panic!("lead {id} is missing"))
}

/// What the test's SQS poller saw.
#[derive(Debug, Default)]
struct Poller {
    batches: usize,
    /// Messages by kind.
    by_type: BTreeMap<&'static str, usize>,
    /// Records the dialer reported as failed (left for redelivery).
    failures: usize,
    scheduler_runs: usize,
    dispatched_by_scheduler: usize,
}

/// Plays EventBridge and Lambda's SQS poller until every lead has settled,
/// every lead's call is over on the phone network (the salesperson's line
/// stays up) and the queue has stayed empty for three polls. Panics with what it saw when that does not happen in time.
async fn run_until_settled(deps: &Deps, cloud: &Cloud, sim: &Simulator, leads: &[LeadId]) -> Poller {
    let mut poller = Poller::default();
    let deadline = tokio::time::Instant::now() + SETTLE_WITHIN;
    let mut next_schedule = tokio::time::Instant::now();
    let mut quiet = 0;
    loop {
        if tokio::time::Instant::now() >= next_schedule {
            let summary = fn_scheduler::handle_scheduled(deps, events::scheduled()).await.expect("the scheduler runs");
            poller.scheduler_runs += 1;
            poller.dispatched_by_scheduler += summary.dispatched;
            next_schedule = tokio::time::Instant::now() + Duration::from_secs(2);
        }
        let received = cloud
            .sqs
            .receive_message()
            .queue_url(&cloud.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive from the dial queue");
        let messages = received.messages();
        if messages.is_empty() {
            quiet += 1;
            if quiet >= 3
                && settled(deps, leads).await
                && sim.calls().iter().filter(|c| c.to != SALES_PHONE).all(|c| c.end_time.is_some())
                && cloud.queue_depth().await == (0, 0, 0)
            {
                return poller;
            }
            if tokio::time::Instant::now() >= deadline {
                let mut states = Vec::new();
                for id in leads {
                    states.push(lead_of(deps.store.as_ref(), id).await.status);
                }
                panic!(
                    "not settled within {SETTLE_WITHIN:?}: leads {states:?}, simulator {:?}, queue {:?}, poller {poller:?}",
                    sim.stats(),
                    cloud.queue_depth().await
                );
            }
            continue;
        }
        quiet = 0;
        poller.batches += 1;
        for m in messages {
            let kind = match QueueMessage::parse(m.body().unwrap_or_default()) {
                Ok(QueueMessage::Dial { .. }) => "dial",
                Ok(QueueMessage::WrapUpEnd { .. }) => "wrap_up_end",
                Ok(QueueMessage::SettleCall { .. }) => "settle_call",
                Ok(QueueMessage::Nudge) => "nudge",
                Err(_) => "unreadable",
            };
            *poller.by_type.entry(kind).or_default() += 1;
        }
        let response = fn_dialer::handle_batch(deps, events::sqs(messages, &cloud.queue_arn)).await;
        let failed: HashSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        poller.failures += failed.len();
        for m in messages.iter().filter(|m| !failed.contains(m.message_id().unwrap_or_default())) {
            cloud
                .sqs
                .delete_message()
                .queue_url(&cloud.queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete a handled message");
        }
    }
}

async fn settled(deps: &Deps, leads: &[LeadId]) -> bool {
    for id in leads {
        if !SETTLED.contains(&lead_of(deps.store.as_ref(), id).await.status) {
            return false;
        }
    }
    true
}

/// A stretch of time: start, end.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// No two of `spans` overlap (one thing never happened twice at once).
fn assert_disjoint(what: &str, mut spans: Vec<Span>) {
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "{what} overlap: {pair:?}");
    }
}

/// The `call_id`s of the events of one `type` posted to one connection.
fn posted(posts: &HashMap<String, Vec<Value>>, connection: &str, kind: &str) -> Vec<String> {
    posts
        .get(connection)
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == kind)
        .map(|e| e["call_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leads_are_called_through_the_lambda_handlers_on_the_aws_emulator() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let cloud = Cloud::start().await;
    let recorder = Recorder::start(cloud.moto.endpoint()).await;

    // Telephony: the simulator, and the function URL it calls back.
    let base = Config::for_tests();
    let token = base.twilio_auth_token.expose().to_owned();
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = Simulator::start(loopback, sim_config(&token)).await.expect("the simulator starts");
    let telephony: Arc<dyn Telephony> =
        Arc::new(TwilioClient::with_base_url(sim.account_sid(), &token, sim.base_url()).expect("a Twilio client"));
    let url_listener = tokio::net::TcpListener::bind(loopback).await.expect("bind the function URL");
    let function_url = format!("http://{}", url_listener.local_addr().expect("an address"));
    // As template.yaml wires them: the functions that place calls name the
    // function URL in IBRAT_PUBLIC_URL; the webhook function has none and
    // checks signatures over its own Host.
    let deps = cloud_deps(&cloud, telephony.clone(), Config { public_url: function_url.clone(), ..base.clone() });
    let webhook_deps = cloud_deps(&cloud, telephony, Config { public_url: String::new(), ..base });
    let webhook = function_url::serve(url_listener, webhook_deps);
    let sender = ApiGatewaySender::new(&cloud.config, cloud.moto.endpoint());

    // 1. The api function: the first admin, the window, a salesperson.
    let made = fn_api::bootstrap_admin(&deps, Some(ADMIN_EMAIL), Some(PASSWORD), Some("Admin")).await;
    assert!(matches!(made, Ok(Some(ibrat_services::auth::EnsureAdmin::Created(_)))), "{made:?}");
    let (status, health) = api(&deps, "GET", "/api/health", None, None).await;
    assert_eq!(status, 200, "{health}");
    let admin = login(&deps, ADMIN_EMAIL).await;
    let window = open_calling_window(&deps, &admin).await;
    let new_user = json!({
        "email": SALES_EMAIL, "password": PASSWORD, "name": "Dilnoza", "role": "salesperson", "phone": SALES_PHONE
    });
    let (status, salesperson) = api(&deps, "POST", "/api/auth/register", Some(&admin), Some(new_user)).await;
    assert_eq!(status, 201, "{salesperson}");
    let salesperson_id = salesperson["id"].as_str().expect("the salesperson's id").to_owned();
    let sales_token = login(&deps, SALES_EMAIL).await;

    // 2. The ws function: both connect; the salesperson starts a session:
    // the simulator answers their phone and, through the webhook function,
    // their line comes up in their room and they are ready.
    ws(&deps, &sender, events::ws_connect(ADMIN_CONN, &admin)).await;
    ws(&deps, &sender, events::ws_connect(SALES_CONN, &sales_token)).await;
    let up = json!({ "action": "start_session", "request_id": "up" });
    ws(&deps, &sender, events::ws_message(SALES_CONN, &up)).await;
    let posts = recorder.posts().await;
    let acks: Vec<&Value> = posts.get(SALES_CONN).into_iter().flatten().filter(|e| e["request_id"] == "up").collect();
    assert!(acks.iter().any(|e| e["type"] == "ack"), "start_session was acknowledged: {posts:?}");
    let sales_user = ibrat_domain::UserId::parse(&salesperson_id).expect("a user id");
    let mut line_up = false;
    for _ in 0..200 {
        let session = repo::sessions::get(deps.store.as_ref(), &sales_user).await.expect("read the session");
        if session.is_some_and(|s| s.line == ibrat_domain::LineState::Up) {
            line_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(line_up, "the salesperson's line came up");

    // 3. An import: created through the api, uploaded to S3, run by csv-import.
    // Zones where the window is open now and still in ten minutes, so no
    // lead is deferred to tomorrow while the test runs.
    let now = Utc::now();
    let still_open = leads::open_zones(&window, now + chrono::Duration::minutes(10));
    let zones: Vec<&'static str> =
        leads::open_zones(&window, now).into_iter().filter(|z| still_open.contains(z)).collect();
    assert!(!zones.is_empty(), "a 13-hour window every day is open somewhere now");
    let sample = leads::generate(LEADS, &zones, &mut rand::rngs::StdRng::seed_from_u64(7));
    let csv = leads::to_csv(&sample);
    let (status, created) =
        api(&deps, "POST", "/api/imports", Some(&admin), Some(json!({ "file_name": "leads.csv" }))).await;
    assert_eq!(status, 201, "{created}");
    let import_id = created["import_id"].as_str().expect("an import id").to_owned();
    let key = created["key"].as_str().expect("an object key").to_owned();
    assert_eq!(key, format!("imports/{import_id}.csv"));
    let upload_url = created["upload_url"].as_str().expect("an upload URL");
    let put = reqwest::Client::new().put(upload_url).body(csv.clone()).send().await.expect("PUT to S3");
    assert!(put.status().is_success(), "the presigned PUT answered {}", put.status());
    let etag = put.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let outcomes = fn_csv_import::handle(&deps, events::s3_put(&cloud.bucket, &key, csv.len() as u64, &etag))
        .await
        .expect("the import needs no retry");
    match outcomes.as_slice() {
        [fn_csv_import::RecordOutcome::Imported(summary)] => {
            assert_eq!(summary.record.counts.imported, LEADS as u64, "{summary:?}");
        }
        other => panic!("one object imported, got {other:?}"),
    }
    // S3 delivers notifications at least once: a second delivery leaves
    // the finished import as it is.
    let again = fn_csv_import::handle(&deps, events::s3_put(&cloud.bucket, &key, csv.len() as u64, &etag))
        .await
        .expect("a redelivered event needs no retry");
    match again.as_slice() {
        [fn_csv_import::RecordOutcome::Imported(summary)] => {
            assert_eq!(summary.record.counts.imported, LEADS as u64, "{summary:?}");
            assert_eq!(summary.record.counts.duplicates, 0, "{summary:?}");
        }
        other => panic!("the redelivered object is reported as imported, got {other:?}"),
    }
    let (status, import) = api(&deps, "GET", &format!("/api/imports/{import_id}"), Some(&admin), None).await;
    assert_eq!((status, &import["status"]), (200, &json!("completed")), "{import}");
    let lead_ids: Vec<LeadId> = sample
        .iter()
        .map(|l| LeadId::for_phone(&Phone::parse(&l.phone, Region::default()).expect("a sample phone")))
        .collect();

    // 4 and 5. The scheduler and the dialer over SQS; the calls play out
    // through the webhook function.
    let poller = run_until_settled(&deps, &cloud, &sim, &lead_ids).await;
    // After the last wrap-up (a delayed SQS message) the salesperson is free.
    let (status, user) = api(&deps, "GET", &format!("/api/users/{salesperson_id}"), Some(&admin), None).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["availability"], "available", "{user}");
    // They end their session: their line is hung up and the network idles.
    let end = json!({ "action": "end_session", "request_id": "end" });
    ws(&deps, &sender, events::ws_message(SALES_CONN, &end)).await;
    assert!(sim.wait_idle(Duration::from_secs(10)).await, "the simulator is idle");

    // 7. Every lead settled, every placed call recorded in full.
    let store = deps.store.as_ref();
    let mut all_calls = Vec::new();
    for id in &lead_ids {
        let lead = lead_of(store, id).await;
        assert!(SETTLED.contains(&lead.status), "lead not settled: {lead:?}");
        let mut calls = repo::calls::for_lead(store, id, 100).await.expect("the lead's calls");
        assert!(!calls.is_empty(), "lead {id} was never dialed");
        assert_eq!(calls.len() as u32, lead.attempts, "one call per attempt of {lead:?}");
        calls.sort_by_key(|c| c.attempt);
        let attempts: Vec<u32> = calls.iter().map(|c| c.attempt).collect();
        assert_eq!(attempts, (1..=lead.attempts).collect::<Vec<_>>(), "attempts of {id}");
        assert_eq!(lead.last_call_id.as_ref(), calls.last().map(|c| &c.id), "{lead:?}");
        // Never dialed twice at once: the lead's calls do not overlap.
        let spans = calls.iter().map(|c| (c.created_at, c.ended_at.unwrap_or(DateTime::<Utc>::MAX_UTC))).collect();
        assert_disjoint(&format!("the calls of lead {id}"), spans);
        if lead.status == LeadStatus::Completed {
            assert_eq!(calls.last().and_then(|c| c.outcome), Some(CallOutcome::Connected), "{lead:?}");
        }
        all_calls.extend(calls);
    }
    for call in &all_calls {
        assert!(call.status.is_terminal(), "call not finished: {call:?}");
        assert!(call.outcome.is_some(), "no outcome: {call:?}");
        assert!(call.twilio_sid.is_some(), "placed without a sid: {call:?}");
        let ended = call.ended_at.unwrap_or_else(|| panic!("no ended_at: {call:?}"));
        assert!(call.created_at <= ended, "ends before it starts: {call:?}");
        if call.ringing_at.is_some() {
            assert!(call.ring_secs.is_some(), "rang but no ring_secs: {call:?}");
        }
        if call.outcome == Some(CallOutcome::Connected) {
            assert_eq!(call.salesperson_id.as_ref().map(|s| s.as_str()), Some(salesperson_id.as_str()), "{call:?}");
            let bridged = call.bridged_at.unwrap_or_else(|| panic!("connected, never bridged: {call:?}"));
            let joined = call.connected_at.unwrap_or_else(|| panic!("connected, never joined: {call:?}"));
            assert!(bridged <= joined && joined <= ended, "joined outside the call: {call:?}");
            assert!(call.created_at <= bridged && bridged <= ended, "bridged outside the call: {call:?}");
            assert!(call.talk_secs.is_some(), "connected but no talk_secs: {call:?}");
        }
    }
    let connected: Vec<String> =
        all_calls.iter().filter(|c| c.outcome == Some(CallOutcome::Connected)).map(|c| c.id.to_string()).collect();
    assert!(!connected.is_empty(), "at least one call was bridged to the salesperson: {all_calls:?}");

    // The phone network agrees: one record per placed call (the
    // salesperson's own leg is their session's line), every webhook
    // answered well through the function URL, and a lead whose leg joined
    // the salesperson in their room is a connected call.
    let all_legs = sim.calls();
    assert!(all_legs.iter().all(|c| c.webhook_errors.is_empty()), "webhooks failed: {all_legs:?}");
    let sim_calls: Vec<_> = all_legs.into_iter().filter(|c| c.to != SALES_PHONE).collect();
    let ledger = sim.ledger();
    let by_sid: HashMap<&str, _> = all_calls.iter().filter_map(|c| Some((c.twilio_sid.as_deref()?, c))).collect();
    assert_eq!(by_sid.len(), sim_calls.len(), "one record per placed call");
    for placed in &sim_calls {
        assert!(by_sid.contains_key(placed.sid.as_str()), "no record of {placed:?}");
        let talked = ledger.iter().any(|e| {
            e.event == "joined-room"
                && e.call_sid.as_deref() == Some(placed.sid.as_str())
                && e.detail["with"].as_array().is_some_and(|w| !w.is_empty())
        });
        if talked {
            assert_eq!(by_sid[placed.sid.as_str()].outcome, Some(CallOutcome::Connected), "{placed:?}");
        }
    }
    // And never rang one number twice at once.
    let mut per_number: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for placed in &sim_calls {
        let end = placed.end_time.unwrap_or_else(|| panic!("the network never ended {placed:?}"));
        per_number.entry(placed.to.as_str()).or_default().push((placed.date_created, end));
    }
    for (number, spans) in per_number {
        assert_disjoint(&format!("the calls to {number}"), spans);
    }
    let invocations = webhook.total.load(Ordering::Relaxed);
    assert!(invocations >= 2 * sim_calls.len(), "voice and status callbacks for each call ({invocations})");
    assert_eq!(webhook.refused.load(Ordering::Relaxed), 0, "the webhook function refused requests");

    // The queue: dials went through SQS and every message was consumed.
    assert!(poller.scheduler_runs >= 1 && poller.dispatched_by_scheduler >= 1, "{poller:?}");
    let dials = poller.by_type.get("dial").copied().unwrap_or(0);
    assert!(dials >= sim_calls.len(), "every call came from a Dial message: {poller:?}");
    assert!(poller.by_type.get("wrap_up_end").is_some_and(|n| *n >= 1), "wrap-ups ended through SQS: {poller:?}");
    assert!(!poller.by_type.contains_key("unreadable"), "{poller:?}");
    assert_eq!(cloud.queue_depth().await, (0, 0, 0), "the dial queue is drained");

    // 6. The WebSocket posts, read back from the emulator.
    let posts = recorder.posts().await;
    let heard = posts.get(SALES_CONN).cloned().unwrap_or_default();
    for call_id in &connected {
        // Where in the salesperson's stream an event about this call came.
        let at = |kind: &str| heard.iter().position(|e| e["type"] == kind && e["call_id"] == json!(call_id));
        let (incoming, bridged, completed) = (at("call_incoming"), at("call_bridged"), at("call_completed"));
        assert!(
            incoming.is_some() && bridged.is_some() && completed.is_some(),
            "the salesperson heard of call {call_id}: {heard:?}"
        );
        assert!(incoming < bridged && bridged < completed, "told of call {call_id} in order: {heard:?}");
    }
    for event in posts.get(SALES_CONN).into_iter().flatten() {
        if let Some(owner) = event["salesperson_id"].as_str().or(event["user_id"].as_str()) {
            assert_eq!(owner, salesperson_id, "a salesperson only hears of their own: {event}");
        }
    }
    let created_events: HashSet<String> = posted(&posts, ADMIN_CONN, "call_created").into_iter().collect();
    for call in &all_calls {
        assert!(created_events.contains(&call.id.to_string()), "the admin saw call {} created", call.id);
    }

    // The REST views over the table agree with the records.
    let (status, listed) = api(&deps, "GET", "/api/calls?limit=100", Some(&admin), None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(all_calls.len()), "{listed}");
    let (status, own) = api(&deps, "GET", "/api/calls?limit=100", Some(&sales_token), None).await;
    assert_eq!(status, 200, "{own}");
    let mut own: Vec<String> =
        own["items"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_str().map(str::to_owned)).collect();
    own.sort();
    let mut mine = connected.clone();
    mine.sort();
    assert_eq!(own, mine, "a salesperson lists the calls bridged to them");
    let (status, summary) = api(&deps, "GET", "/api/leads/stats/summary", Some(&admin), None).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["total"], json!(LEADS), "{summary}");
    // Day counters restart at UTC midnight; a run across it cannot compare them.
    if summary["day"] == json!(now.format("%Y-%m-%d").to_string()) {
        assert_eq!(summary["calls_today"], json!(all_calls.len()), "{summary}");
        assert_eq!(summary["connected_today"], json!(connected.len()), "{summary}");
    } else {
        eprintln!("the run crossed UTC midnight; the day's call counters were not compared");
    }

    // Closing the salesperson's socket: `$disconnect` forgets the
    // connection, and with no connection left they are no longer routed calls.
    ws(&deps, &sender, events::ws_disconnect(SALES_CONN)).await;
    let (status, user) = api(&deps, "GET", &format!("/api/users/{salesperson_id}"), Some(&admin), None).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["availability"], "away", "{user}");
}
