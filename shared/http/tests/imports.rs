//! The import and export routes through the router: direct uploads (raw
//! and multipart) answer a summary, refusals use the error shape, the
//! rejected rows and the exports download as escaped CSV.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{json_body, Harness};
use http_body_util::BodyExt;
use ibrat_domain::{LeadId, Phone, Region, Role};
use ibrat_services::Config;

async fn admin_token(h: &Harness) -> String {
    let admin = h.user("admin@example.com", Role::Admin).await;
    h.token(&admin)
}

async fn text(h: &Harness, path: &str, token: &str) -> (StatusCode, String, String) {
    let req = Request::builder().uri(path).header("authorization", format!("Bearer {token}")).body(Body::empty());
    let res = h.send(req.expect("request")).await;
    let status = res.status();
    let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
}

const MESSY: &str = "Name;Phone;Email\r\n=cmd|' /C calc'!A0;90 123 45 67;\r\nDup;+998 (90) 123-45-67;\r\nBad;12;\r\nMail;+998911112233;nope\r\n";

#[tokio::test]
async fn a_raw_csv_upload_answers_a_summary_that_the_import_routes_repeat() {
    let h = Harness::new();
    let token = admin_token(&h).await;
    let (status, body) = h.call_csv("/api/leads/upload-csv?file_name=week.csv", Some(&token), MESSY.into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["file_name"], "week.csv");
    assert_eq!((body["rows"].as_u64(), body["imported"].as_u64()), (Some(4), Some(1)), "{body}");
    assert_eq!((body["duplicates"].as_u64(), body["invalid"].as_u64()), (Some(1), Some(2)));
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 3);
    assert_eq!((errors[0]["line"].as_u64(), errors[0]["kind"].as_str()), (Some(3), Some("duplicate")));
    assert_eq!((errors[2]["column"].as_str(), errors[2]["line"].as_u64()), (Some("Email"), Some(5)));
    let id = body["id"].as_str().expect("id").to_owned();

    let (status, one) = h.call("GET", &format!("/api/imports/{id}"), Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(one, body);
    let (status, list) = h.call("GET", "/api/imports", Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["id"], id.as_str());

    let (status, ctype, csv) = text(&h, &format!("/api/imports/{id}/errors.csv"), &token).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/csv"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[2].starts_with("4,invalid,Phone,"), "{csv}");

    let (status, _, leads) = text(&h, "/api/leads/export", &token).await;
    assert_eq!(status, 200);
    assert!(leads.contains(",'=cmd|' /C calc'!A0,'+998901234567,"), "formulas and phones are escaped: {leads}");
}

#[tokio::test]
async fn a_multipart_upload_uses_the_file_part_and_its_name() {
    let h = Harness::new();
    let token = admin_token(&h).await;
    let boundary = "XyZ123";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\data\\\\leads.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nphone,name\n901234567,A\n+14155552671,B\n\r\n--{boundary}--\r\n"
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/leads/upload-csv")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .expect("request");
    let res = h.send(req).await;
    let status = res.status();
    let json = json_body(res).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["file_name"], "leads.csv");
    assert_eq!(json["imported"], 2);
    let us = LeadId::for_phone(&Phone::parse("+14155552671", Region::default()).expect("phone"));
    let (_, detail) = h.call("GET", &format!("/api/leads/{us}"), Some(&token), None).await;
    assert_eq!(detail["status"], "pending", "a number without a known zone waits: {detail}");
}

#[tokio::test]
async fn refused_files_and_oversized_uploads_use_the_error_shape() {
    let mut config = Config::for_tests();
    config.import_max_bytes = 64;
    let h = Harness::with_config(config);
    let token = admin_token(&h).await;
    let (status, body) = h.call_csv("/api/leads/upload-csv", Some(&token), "Name,Email\nA,a@b.c\n".into()).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "no_phone_column");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("Name, Email"), "{body}");

    let big = format!("phone\n{}", "901234567\n".repeat(10));
    let (status, body) = h.call_csv("/api/leads/upload-csv", Some(&token), big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let (_, list) = h.call("GET", "/api/imports", Some(&token), None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "only the refused file left a record: {list}");

    let (status, body) = h.call("POST", "/api/leads/upload-csv", Some(&token), Some(serde_json::json!({}))).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (415, Some("unsupported_media_type")));
}

#[tokio::test]
async fn presigned_imports_start_awaiting_their_upload() {
    let h = Harness::new();
    let token = admin_token(&h).await;
    let (status, created) =
        h.call("POST", "/api/imports", Some(&token), Some(serde_json::json!({ "file_name": "x.csv" }))).await;
    assert_eq!(status, 201);
    let id = created["import_id"].as_str().expect("id");
    assert_eq!(created["key"], format!("imports/{id}.csv"));
    assert!(created["upload_url"].as_str().unwrap_or_default().ends_with(&format!("imports/{id}.csv")));
    let (_, one) = h.call("GET", &format!("/api/imports/{id}"), Some(&token), None).await;
    assert_eq!((one["status"].as_str(), one["file_name"].as_str()), (Some("awaiting_upload"), Some("x.csv")));
    let (status, _) = h.call("GET", "/api/imports/im_0000000000000000", Some(&token), None).await;
    assert_eq!(status, 404);
    let (status, _) = h.call("GET", "/api/imports/ld_0000000000000000", Some(&token), None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_calls_export_checks_its_range() {
    let h = Harness::new();
    let token = admin_token(&h).await;
    let (status, ctype, csv) = text(&h, "/api/calls/export?from=2026-11-01&to=2026-11-24", &token).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/csv"));
    assert!(csv.starts_with("id,lead_id,salesperson_id,status"));
    let (status, _, body) = text(&h, "/api/calls/export?from=2026-11-24&to=2026-11-01", &token).await;
    assert_eq!(status, 400, "{body}");
}
