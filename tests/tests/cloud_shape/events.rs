//! Lambda events shaped as AWS delivers them, parsed into the
//! `aws_lambda_events` / `lambda_http` types the functions take.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::Message;
use base64::Engine as _;
use chrono::Utc;
use lambda_http::request::LambdaRequest;
use serde_json::{json, Value};

use super::aws::{ACCOUNT, REGION};

/// The HTTP API's id and domain (API Gateway HTTP API, payload v2).
const HTTP_API: &str = "e2ehttpapi";
const HTTP_HOST: &str = "e2ehttpapi.execute-api.eu-central-1.amazonaws.com";
/// The WebSocket API's id and domain.
const WS_API: &str = "e2ewsapi01";
const WS_HOST: &str = "e2ewsapi01.execute-api.eu-central-1.amazonaws.com";
/// Where every client request comes from.
const CLIENT_IP: &str = "203.0.113.7";

/// A request id no other event of this run has.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("e2e-{:08}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `24/Nov/2026:06:00:01 +0000`, as API Gateway writes request times.
fn request_time() -> String {
    Utc::now().format("%d/%b/%Y:%H:%M:%S %z").to_string()
}

fn query_map(query: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

/// A key as S3 notifications write it: URL-encoded, spaces as `+`.
fn s3_event_key(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => char::from(b).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An API Gateway HTTP API (payload v2) request for the `api` function.
pub fn http_api(method: &str, path_and_query: &str, token: Option<&str>, body: Option<&Value>) -> LambdaRequest {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut headers = json!({
        "accept": "application/json",
        "host": HTTP_HOST,
        "user-agent": "ibrat-e2e",
        "x-forwarded-for": CLIENT_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https"
    });
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    let text = body.map(Value::to_string);
    if let Some(text) = &text {
        headers["content-type"] = json!("application/json");
        headers["content-length"] = json!(text.len().to_string());
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": HTTP_API,
            "domainName": HTTP_HOST,
            "domainPrefix": HTTP_API,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": CLIENT_IP,
                "userAgent": "ibrat-e2e"
            },
            "requestId": request_id(),
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": request_time(),
            "timeEpoch": Utc::now().timestamp_millis()
        },
        "pathParameters": { "proxy": path.trim_start_matches('/') },
        "isBase64Encoded": false
    });
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query_map(query));
    }
    if let Some(text) = text {
        event["body"] = json!(text);
    }
    serde_json::from_value(event).expect("an HTTP API v2 event")
}

fn ws_context(route: &str, event_type: &str, connection_id: &str) -> Value {
    let now = Utc::now().timestamp_millis();
    json!({
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": request_id(),
        "requestTime": request_time(),
        "messageDirection": "IN",
        "stage": "dev",
        "connectedAt": now,
        "requestTimeEpoch": now,
        "identity": { "userAgent": "ibrat-e2e", "sourceIp": CLIENT_IP },
        "requestId": request_id(),
        "domainName": WS_HOST,
        "connectionId": connection_id,
        "apiId": WS_API
    })
}

/// A WebSocket API `$connect` with the access token as `?token=`.
pub fn ws_connect(connection_id: &str, token: &str) -> ApiGatewayWebsocketProxyRequest {
    let event = json!({
        "headers": {
            "Host": WS_HOST,
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "X-Forwarded-For": CLIENT_IP,
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https"
        },
        "multiValueHeaders": {
            "Host": [WS_HOST],
            "Sec-WebSocket-Key": ["dGhlIHNhbXBsZSBub25jZQ=="],
            "Sec-WebSocket-Version": ["13"],
            "X-Forwarded-For": [CLIENT_IP],
            "X-Forwarded-Port": ["443"],
            "X-Forwarded-Proto": ["https"]
        },
        "queryStringParameters": { "token": token },
        "multiValueQueryStringParameters": { "token": [token] },
        "requestContext": ws_context("$connect", "CONNECT", connection_id),
        "isBase64Encoded": false
    });
    serde_json::from_value(event).expect("a $connect event")
}

/// A WebSocket API `$default` message carrying `message` as text.
pub fn ws_message(connection_id: &str, message: &Value) -> ApiGatewayWebsocketProxyRequest {
    let mut context = ws_context("$default", "MESSAGE", connection_id);
    context["messageId"] = json!(request_id());
    let event = json!({
        "requestContext": context,
        "body": message.to_string(),
        "isBase64Encoded": false
    });
    serde_json::from_value(event).expect("a $default event")
}

/// A WebSocket API `$disconnect`.
pub fn ws_disconnect(connection_id: &str) -> ApiGatewayWebsocketProxyRequest {
    let mut context = ws_context("$disconnect", "DISCONNECT", connection_id);
    context["disconnectStatusCode"] = json!(1000);
    context["disconnectReason"] = json!("Client-side close frame status not set");
    let event = json!({
        "headers": { "Host": WS_HOST, "x-api-key": "", "x-restapi": "" },
        "multiValueHeaders": { "Host": [WS_HOST], "x-api-key": [""], "x-restapi": [""] },
        "requestContext": context,
        "isBase64Encoded": false
    });
    serde_json::from_value(event).expect("a $disconnect event")
}

/// An S3 `ObjectCreated:Put` notification for one object.
pub fn s3_put(bucket: &str, key: &str, size: u64, etag: &str) -> S3Event {
    let encoded = s3_event_key(key);
    let event = json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": "AWS:AIDAEXAMPLE" },
            "requestParameters": { "sourceIPAddress": CLIENT_IP },
            "responseElements": { "x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD" },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "csv-import",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": { "principalId": "A3NL1KOZZKExample" },
                    "arn": format!("arn:aws:s3:::{bucket}")
                },
                "object": { "key": encoded, "size": size, "eTag": etag.trim_matches('"'), "sequencer": "0055AED6DCD90281E5" }
            }
        }]
    });
    serde_json::from_value(event).expect("an S3 event")
}

/// EventBridge's every-minute schedule, as the scheduler receives it.
pub fn scheduled() -> CloudWatchEvent {
    let event = json!({
        "version": "0",
        "id": request_id(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/ibrat-e2e-scheduler-EveryMinute")],
        "detail": {}
    });
    serde_json::from_value(event).expect("a scheduled event")
}

/// The SQS event Lambda's poller builds from received messages.
pub fn sqs(messages: &[Message], queue_arn: &str) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: BTreeMap<String, String> = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect())
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
}

/// A Lambda function URL event (payload 2.0, base64 body) for a request
/// that arrived at `host` with `headers`.
pub fn function_url(
    method: &str,
    path: &str,
    query: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> LambdaRequest {
    let host = headers.get("host").cloned().unwrap_or_default();
    let source_ip = headers.get("x-forwarded-for").cloned().unwrap_or_else(|| "127.0.0.1".into());
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let url_id = "e2efunctionurl0000000000000000000";
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": host,
            "domainPrefix": url_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent
            },
            "requestId": request_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": request_time(),
            "timeEpoch": Utc::now().timestamp_millis()
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    });
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query_map(query));
    }
    serde_json::from_value(event).expect("a function URL event")
}

/// A Lambda HTTP response (v2) as status, headers and body bytes.
pub fn http_response(response: &Value) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let status = response["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).expect("a status code");
    let mut headers: Vec<(String, String)> = response["headers"]
        .as_object()
        .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default();
    if let Some(multi) = response["multiValueHeaders"].as_object() {
        for (k, values) in multi {
            for v in values.as_array().into_iter().flatten() {
                headers.push((k.clone(), v.as_str().unwrap_or_default().to_owned()));
            }
        }
    }
    let body = response["body"].as_str().unwrap_or_default();
    let body = if response["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(body).expect("a base64 response body")
    } else {
        body.as_bytes().to_vec()
    };
    (status, headers, body)
}
