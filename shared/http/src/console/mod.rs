//! The web console: hand-written HTML, CSS and JavaScript modules embedded
//! in the binary and served by the same router as the REST API, so local
//! mode and the `api` Lambda both serve it with nothing to build or install.
//!
//! `/` is the page (revalidated on every load); assets live under
//! `/console/<version>/`, where the version is a hash of every asset, so
//! they can be cached for a year and a new build is picked up at once.
//! Scripts come only from this origin (a Content-Security-Policy without
//! inline scripts); the WebSocket URL is given to the page in a `<meta>`
//! tag (same origin `/ws` in local mode, API Gateway's URL on AWS).

mod assets;

use axum::extract::{Path, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub use assets::{Asset, ASSETS};

/// Where the page finds what it needs beyond its own origin.
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// The WebSocket URL (`wss://…/stage`); None means this origin's `/ws`.
    pub ws_url: Option<String>,
}

impl ConsoleConfig {
    /// The console of a deployment whose WebSocket management endpoint is
    /// `endpoint` (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`,
    /// the `WS_ENDPOINT` every function gets): clients connect to the same
    /// host with `wss://`.
    pub fn from_ws_endpoint(endpoint: Option<&str>) -> Self {
        let ws_url = endpoint.map(str::trim).filter(|e| !e.is_empty()).map(|e| match e.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => e.strip_prefix("http://").map(|rest| format!("ws://{rest}")).unwrap_or_else(|| e.to_owned()),
        });
        ConsoleConfig { ws_url }
    }
}

/// What every console request needs, computed once per process.
struct Console {
    version: String,
    index: String,
    csp: HeaderValue,
}

/// The console's routes: `/` and `/console/{version}/{file}`. Merge it into
/// the API router (it has no fallback of its own).
pub fn router(config: ConsoleConfig) -> Router {
    let version = version();
    let ws_meta = config.ws_url.as_deref().unwrap_or("");
    let index = assets::INDEX_HTML.replace("{{VERSION}}", &version).replace("{{WS_URL}}", &escape_attr(ws_meta));
    let connect_extra = config.ws_url.as_deref().and_then(origin_of).map(|o| format!(" {o}")).unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' https:; \
         connect-src 'self'{connect_extra}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    let console = Arc::new(Console {
        version,
        index,
        csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
    });
    Router::new()
        .route("/", get(index_page))
        .route("/index.html", get(index_page))
        .route("/console/{version}/{file}", get(asset))
        .with_state(console)
}

async fn index_page(State(console): State<Arc<Console>>) -> Response {
    let mut headers = secure_headers(&console);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    (headers, console.index.clone()).into_response()
}

async fn asset(State(console): State<Arc<Console>>, Path((version, file)): Path<(String, String)>) -> Response {
    let mut headers = secure_headers(&console);
    let Some(found) = ASSETS.iter().find(|a| a.name == file) else {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return (StatusCode::NOT_FOUND, headers, "no such console file").into_response();
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(found.content_type));
    // Only this build's version may be kept; a page from an older build
    // gets today's file, revalidated every time.
    let cache = if version == console.version { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    (headers, found.body).into_response()
}

fn secure_headers(console: &Console) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_SECURITY_POLICY, console.csp.clone());
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h
}

/// A hash of every asset (FNV-1a, 64 bits): changes whenever a file does.
pub fn version() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in ASSETS.iter().flat_map(|a| a.name.as_bytes().iter().chain(a.body)).chain(assets::INDEX_HTML.as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// `scheme://host[:port]` of a URL, for the CSP's `connect-src`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_endpoint_becomes_a_wss_url() {
        let c = ConsoleConfig::from_ws_endpoint(Some("https://abc.execute-api.eu-west-1.amazonaws.com/prod"));
        assert_eq!(c.ws_url.as_deref(), Some("wss://abc.execute-api.eu-west-1.amazonaws.com/prod"));
        assert_eq!(ConsoleConfig::from_ws_endpoint(Some("  ")).ws_url, None);
        assert_eq!(ConsoleConfig::from_ws_endpoint(None).ws_url, None);
    }

    #[test]
    fn origin_is_scheme_and_host() {
        assert_eq!(origin_of("wss://abc.example.com/prod").as_deref(), Some("wss://abc.example.com"));
        assert_eq!(origin_of("nonsense"), None);
    }

    async fn get(path: &str) -> axum::response::Response {
        use tower::ServiceExt;
        let req = axum::http::Request::get(path).body(axum::body::Body::empty()).expect("a request");
        let config = ConsoleConfig::from_ws_endpoint(Some("https://abc.example.com/prod"));
        router(config).oneshot(req).await.expect("an answer")
    }

    fn header(res: &Response, name: header::HeaderName) -> &str {
        res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    #[tokio::test]
    async fn the_page_names_this_builds_files_and_the_ws_url() {
        let res = get("/").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, header::CONTENT_TYPE), "text/html; charset=utf-8");
        assert_eq!(header(&res, header::CACHE_CONTROL), "no-cache");
        let csp = header(&res, header::CONTENT_SECURITY_POLICY).to_owned();
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe"), "{csp}");
        assert!(csp.contains("connect-src 'self' wss://abc.example.com;"), "{csp}");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("a body");
        let html = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(html.contains(&format!("/console/{}/app.js", version())), "{html}");
        assert!(html.contains(r#"content="wss://abc.example.com/prod""#), "{html}");
        assert!(!html.contains("{{"), "every placeholder is filled: {html}");
    }

    #[tokio::test]
    async fn files_of_this_build_are_cached_for_good_and_others_revalidated() {
        let res = get(&format!("/console/{}/app.js", version())).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, header::CONTENT_TYPE), "text/javascript; charset=utf-8");
        assert_eq!(header(&res, header::CACHE_CONTROL), "public, max-age=31536000, immutable");
        assert_eq!(header(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        let old = get("/console/0000000000000000/style.css").await;
        assert_eq!(old.status(), StatusCode::OK);
        assert_eq!(header(&old, header::CONTENT_TYPE), "text/css; charset=utf-8");
        assert_eq!(header(&old, header::CACHE_CONTROL), "no-cache");
        let missing = get(&format!("/console/{}/secrets.txt", version())).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(get("/console/../Cargo.toml").await.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).expect("utf-8");
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line.rsplit_once("'./").map(|(_, t)| t.trim_end_matches(['\'', ';'])).expect(line);
                assert!(
                    ASSETS.iter().any(|a| a.name == target),
                    "{} imports {target}, which is not embedded",
                    asset.name
                );
            }
        }
    }
}
