//! The REST API refuses what Twilio refuses, with Twilio's codes and bodies.

use ibrat_ports::{Telephony, TelephonyError};
use ibrat_twilio::TwilioClient;
use serde_json::{json, Value};

use crate::{config, only, Harness};

/// POSTs a raw form to the simulator's Calls.json with the given credentials.
async fn create_raw(h: &Harness, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}/2010-04-01/Accounts/{}/Calls.json", h.sim.base_url(), h.sim.account_sid());
    let res = reqwest::Client::new()
        .post(url)
        .basic_auth(h.sim.account_sid(), Some(token))
        .form(form)
        .send()
        .await
        .expect("simulator answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn missing_or_malformed_parameters_get_twilios_errors() {
    let h = Harness::start(config(|_| {})).await;
    let token = h.sim.state().config().auth_token.clone();
    let url = h.hooks.url("/voice");
    let (status, body) = create_raw(&h, &token, &[("From", "+15550001111"), ("Url", &url)]).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"code":21201,"message":"No 'To' number is specified","more_info":"https://www.twilio.com/docs/errors/21201","status":400})
    );
    let code = |b: &Value| b["code"].as_u64();
    let (status, body) = create_raw(&h, &token, &[("To", "+15550002222"), ("Url", &url)]).await;
    assert_eq!((status, code(&body)), (400, Some(21603)));
    let (status, body) = create_raw(&h, &token, &[("To", "+15550002222"), ("From", "+15550001111")]).await;
    assert_eq!((status, code(&body)), (400, Some(21205)));
    let (status, body) = create_raw(&h, &token, &[("To", "0555 000"), ("From", "+15550001111"), ("Url", &url)]).await;
    assert_eq!((status, code(&body)), (400, Some(21211)));

    let mut bad = h.request("12345", "bridge", None);
    assert!(matches!(h.client.create_call(&bad).await, Err(TelephonyError::InvalidNumber { code: 21211, .. })));
    bad.to = "+15550002222".into();
    bad.url = "not a url".into();
    assert!(matches!(h.client.create_call(&bad).await, Err(TelephonyError::Rejected { code: 21205, .. })));
    h.settle().await;
    assert!(h.sim.calls().is_empty(), "refused requests create no call");
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_20003() {
    let h = Harness::start(config(|_| {})).await;
    let (status, body) = create_raw(&h, "wrong-token", &[("To", "+15550002222")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], 20003);
    assert_eq!(body["status"], 401);
    assert_eq!(body["more_info"], "https://www.twilio.com/docs/errors/20003");

    let intruder = TwilioClient::with_base_url(h.sim.account_sid(), "wrong-token", h.sim.base_url()).expect("builds");
    let refused = intruder.create_call(&h.request("+15550002222", "bridge", None)).await;
    assert!(matches!(refused, Err(TelephonyError::Auth(_))), "{refused:?}");
    assert!(matches!(intruder.fetch_call("CA00000000000000000000000000000000").await, Err(TelephonyError::Auth(_))));

    let no_auth =
        reqwest::get(format!("{}/2010-04-01/Accounts/{}/Calls/CA1.json", h.sim.base_url(), h.sim.account_sid()))
            .await
            .expect("simulator answers");
    assert_eq!(no_auth.status().as_u16(), 401);
    assert!(h.sim.calls().is_empty());
}

#[tokio::test]
async fn unknown_calls_are_404_with_20404() {
    let h = Harness::start(config(|_| {})).await;
    let sid = "CA0123456789abcdef0123456789abcdef";
    assert_eq!(h.client.fetch_call(sid).await, Err(TelephonyError::NotFound));
    let url = format!("{}/2010-04-01/Accounts/{}/Calls/{sid}.json", h.sim.base_url(), h.sim.account_sid());
    let token = h.sim.state().config().auth_token.clone();
    let res =
        reqwest::Client::new().get(url).basic_auth(h.sim.account_sid(), Some(token)).send().await.expect("answers");
    assert_eq!(res.status().as_u16(), 404);
    let body: Value = res.json().await.expect("json body");
    assert_eq!(body["code"], 20404);
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn created_call_has_twilios_resource_shape() {
    let h = Harness::start(only(|c| c.busy_rate = 1.0)).await;
    let url = format!("{}/2010-04-01/Accounts/{}/Calls.json", h.sim.base_url(), h.sim.account_sid());
    let token = h.sim.state().config().auth_token.clone();
    let voice = h.hooks.url("/voice");
    let form = [("To", "+15550002222"), ("From", "+15550001111"), ("Url", voice.as_str())];
    let res = reqwest::Client::new()
        .post(url)
        .basic_auth(h.sim.account_sid(), Some(token))
        .form(&form)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status().as_u16(), 201);
    let body: Value = res.json().await.expect("json body");
    let sid = body["sid"].as_str().unwrap_or("");
    assert!(sid.len() == 34 && sid.starts_with("CA") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(body["account_sid"], h.sim.account_sid());
    assert_eq!(body["status"], "queued");
    assert_eq!(body["direction"], "outbound-api");
    assert_eq!(body["api_version"], "2010-04-01");
    assert_eq!((body["to"].as_str(), body["from"].as_str()), (Some("+15550002222"), Some("+15550001111")));
    assert!(body["answered_by"].is_null() && body["duration"].is_null() && body["end_time"].is_null());
    assert!(body["date_created"].as_str().is_some_and(|d| d.ends_with("+0000")));
    assert_eq!(body["uri"], format!("/2010-04-01/Accounts/{}/Calls/{sid}.json", h.sim.account_sid()));
    h.settle().await;
    // No status callback was asked for, so none was sent.
    assert!(h.hooks.all().is_empty());
}
