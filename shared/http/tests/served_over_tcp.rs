//! The router served over a real socket, as local mode serves it (with the
//! peer address as connect info, which login throttling keys on).

mod common;

use std::net::SocketAddr;

use common::{Harness, PASSWORD};
use ibrat_domain::Role;
use ibrat_services::repo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn raw(addr: SocketAddr, request: String) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("reads");
    let status = out.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn health_and_login_over_http() {
    let h = Harness::new();
    h.user("sp@example.com", Role::Salesperson).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let app = h.app.clone().into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let (status, body) =
        raw(addr, "GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into()).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"ok""#), "{body}");

    let login = |password: &str| {
        let json = format!(r#"{{"email":"sp@example.com","password":"{password}"}}"#);
        format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nX-Forwarded-For: 10.9.9.9\r\nConnection: close\r\n\r\n{json}",
            json.len()
        )
    };
    let (status, body) = raw(addr, login("wrong-password-x")).await;
    assert_eq!(status, 401, "{body}");
    // The socket peer is the address throttled, not a forgeable header.
    let peer = repo::throttle::get(h.deps.store.as_ref(), "ip:127.0.0.1").await.unwrap();
    assert_eq!(peer.failures, 1);
    let forged = repo::throttle::get(h.deps.store.as_ref(), "ip:10.9.9.9").await.unwrap();
    assert_eq!(forged.failures, 0);
    let (status, body) = raw(addr, login(PASSWORD)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("access_token"));
    server.abort();
}
