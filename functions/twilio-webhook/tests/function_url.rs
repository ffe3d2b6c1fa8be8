//! The twilio-webhook Lambda as AWS runs it: Lambda function URL events
//! (payload 2.0, base64 form bodies, Twilio's headers) through lambda_http's
//! adapter into the router, over local adapters. The signature is computed
//! as Twilio computes it over the function URL's own address, since a
//! function URL cannot know its address at deploy time.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::Duration;
use ibrat_domain::{CallStatus, Priority, UserId};
use ibrat_services::dialing::{dial, DialOutcome};
use ibrat_services::{repo, Deps};
use ibrat_testkit::{lead, open_line, salesperson, TestDeps};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::{json, Value};

const TOKEN: &str = "function-url-auth-token";
const HOST: &str = "x7k2q9w3e5r1t8y6u4i0o2p5a3s7d1f9.lambda-url.eu-central-1.on.aws";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

/// The kit's system, pinned inside the calling window (a Tuesday, 11:00 in
/// Tashkent): the lead below is dialed, whatever the hour the test runs at.
fn kit() -> TestDeps {
    TestDeps::builder()
        .config(|c| {
            // Deployed on a function URL: no configured public URL, the Host is used.
            c.public_url = String::new();
            c.twilio_auth_token = ibrat_services::Secret::new(TOKEN);
        })
        .build()
}

async fn available_salesperson(kit: &TestDeps) -> UserId {
    let since = kit.now() - Duration::minutes(5);
    let user = salesperson(1, since).name("Dilnoza").email("dilnoza@example.com").phone("+998911234567");
    let id = user.store(kit.store.as_ref()).await.id;
    // Their line is open (their phone is in their room): they are routable.
    open_line(kit.store.as_ref(), &id, since, "CA00000000000000000000000000000a01").await;
    id
}

/// A queued lead, dialed by the real dialer; returns (call id, sid, phone).
async fn placed(kit: &TestDeps) -> (String, String, String) {
    kit.settings(|_| {}).await;
    let now = kit.now();
    let lead = lead(1, now - Duration::hours(1))
        .due(now - Duration::minutes(1))
        .name("Aziz")
        .phone("+998901112233")
        .priority(Priority::High)
        .store(kit.store.as_ref())
        .await;
    match dial(&kit.deps, &lead.id, true).await.unwrap() {
        DialOutcome::Placed { call_id, sid } => (call_id.to_string(), sid, lead.phone.as_str().to_owned()),
        other => panic!("not placed: {other:?}"),
    }
}

/// A function URL event for a Twilio form POST, signed with `token`.
fn event(path: &str, query: &str, params: &[(String, String)], token: &str) -> Value {
    let url = format!("https://{HOST}{path}?{query}");
    let signature = ibrat_twilio::signature::compute_signature(token, &url, params);
    let body = serde_urlencoded::to_string(params).unwrap();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "content-type": "application/x-www-form-urlencoded; charset=utf-8",
            "host": HOST,
            "i-twilio-idempotency-token": "4e8b9a4c-6f1f-4c3e-9d6b-2d7e1e0c9a11",
            "user-agent": "TwilioProxy/1.1",
            "x-amzn-trace-id": "Root=1-6744a1b2-3c4d5e6f7a8b9c0d1e2f3a4b",
            "x-forwarded-for": "54.172.60.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "x-home-region": "us1",
            "x-twilio-signature": signature
        },
        "queryStringParameters": serde_urlencoded::from_str::<BTreeMap<String, String>>(query).unwrap(),
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "x7k2q9w3e5r1t8y6u4i0o2p5a3s7d1f9",
            "domainName": HOST,
            "domainPrefix": "x7k2q9w3e5r1t8y6u4i0o2p5a3s7d1f9",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "54.172.60.1",
                "userAgent": "TwilioProxy/1.1"
            },
            "requestId": "5f1c2a9e-8d3b-4f6a-a2c7-1e9b0d4c3f21",
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:06:00:01 +0000",
            "timeEpoch": 1795586401000_u64
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

async fn invoke(deps: &Deps, event: Value) -> (u16, String) {
    let request: LambdaRequest = serde_json::from_value(event).expect("a function URL event");
    let mut adapter = Adapter::from(fn_twilio_webhook::app(deps.clone()));
    let response = adapter.call(LambdaEvent::new(request, Context::default())).await.expect("the router never fails");
    let response = serde_json::to_value(response).expect("responses serialise");
    let status = response["statusCode"].as_u64().expect("a status") as u16;
    let body = response["body"].as_str().unwrap_or_default();
    let body = if response["isBase64Encoded"] == true {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap()
    } else {
        body.to_owned()
    };
    (status, body)
}

fn params(sid: &str, to: &str, status: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("AccountSid", ACCOUNT),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", status),
        ("Direction", "outbound-api"),
        ("From", "+998712000000"),
        ("To", to),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    p.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    p
}

#[tokio::test]
async fn an_answered_call_joins_the_salespersons_room_through_the_function_url() {
    let kit = kit();
    let deps = &kit.deps;
    let sales = available_salesperson(&kit).await;
    let (call_id, sid, to) = placed(&kit).await;
    let query = format!("call_id={call_id}");

    let ringing = params(&sid, &to, "ringing", &[("SequenceNumber", "1"), ("CallbackSource", "call-progress-events")]);
    let (status, _) = invoke(deps, event("/twilio/status", &query, &ringing, TOKEN)).await;
    assert_eq!(status, 204);

    let voice = params(&sid, &to, "in-progress", &[("AnsweredBy", "human")]);
    let (status, twiml) = invoke(deps, event("/twilio/voice", &query, &voice, TOKEN)).await;
    assert_eq!(status, 200, "{twiml}");
    // The lead's leg joins the salesperson's open line.
    assert!(twiml.contains("<Conference "), "{twiml}");
    assert!(twiml.contains(&format!(">agent-{sales}</Conference>")), "{twiml}");

    let call =
        repo::calls::get(deps.store.as_ref(), &ibrat_domain::CallId::parse(&call_id).unwrap()).await.unwrap().unwrap();
    assert_eq!(call.status, CallStatus::Bridged);
    assert_eq!(call.salesperson_id, Some(sales));
}

#[tokio::test]
async fn a_request_signed_with_another_token_is_refused_and_changes_nothing() {
    let kit = kit();
    let deps = &kit.deps;
    available_salesperson(&kit).await;
    let (call_id, sid, to) = placed(&kit).await;
    let query = format!("call_id={call_id}");
    let voice = params(&sid, &to, "in-progress", &[("AnsweredBy", "human")]);
    let (status, body) = invoke(deps, event("/twilio/voice", &query, &voice, "not-the-token")).await;
    assert_eq!(status, 403, "{body}");
    let call =
        repo::calls::get(deps.store.as_ref(), &ibrat_domain::CallId::parse(&call_id).unwrap()).await.unwrap().unwrap();
    assert_ne!(call.status, CallStatus::Bridged);
    assert_eq!(call.salesperson_id, None);
}
