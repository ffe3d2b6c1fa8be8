//! The doors of the local system, tried from outside: health, wrong
//! passwords, WebSocket tokens and the admin-only upload.

use ibrat_tests::{TestSystem, ADMIN_EMAIL, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;
use twilio_sim::SimConfig;

#[tokio::test]
async fn only_the_right_people_get_in() {
    let sys = TestSystem::start(SimConfig { time_scale: 0.0, ..SimConfig::default() }).await;
    let (status, body) = sys.call(Method::GET, "/api/health", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "status": "ok" })));

    let wrong = json!({ "email": ADMIN_EMAIL, "password": "not-the-password" });
    let (status, body) = sys.call(Method::POST, "/api/auth/login", None, Some(wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let bad_socket = format!("{}?token=not-a-token", sys.system.ws_url());
    assert!(tokio_tungstenite::connect_async(bad_socket).await.is_err(), "a bad token opens no socket");

    let admin = sys.login(ADMIN_EMAIL, PASSWORD).await;
    sys.create_salesperson(&admin, "sp@e2e.test", "+998901110009").await;
    let salesperson = sys.login("sp@e2e.test", PASSWORD).await;
    let (status, body) = sys.upload_csv(&salesperson, "name,phone\nA,+998901234567\n".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = sys.upload_csv(&admin, "name,phone\nA,+998901234567\n".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 1, "{body}");
    sys.system.shutdown().await;
}
