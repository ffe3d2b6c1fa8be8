//! A small client of the REST API, for commands that talk to a running
//! server the way any client would (`import`, the demo's salespeople).

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Why a request failed; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the server at {url} could not be reached: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the server refused {what} ({status}): {message}")]
    Refused { what: String, status: StatusCode, message: String },
    #[error("the server's answer to {what} could not be read: {detail}")]
    BadAnswer { what: String, detail: String },
    #[error("`{0}` is not an http:// or https:// URL")]
    BadUrl(String),
}

/// A signed-in session with a server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Deserialize)]
struct LoginAnswer {
    access_token: String,
}

impl ApiClient {
    /// Signs in with email and password.
    pub async fn login(base_url: &str, email: &str, password: &str) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUrl(base_url.to_owned()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| ClientError::Unreachable { url: base.clone(), source })?;
        let body = serde_json::json!({ "email": email, "password": password });
        let req = http.post(format!("{base}/api/auth/login")).json(&body);
        let answer: LoginAnswer = read("signing in", send(&base, req).await?).await?;
        Ok(ApiClient { http, base, token: answer.access_token })
    }

    /// The access token (for the WebSocket's `?token=`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The server's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET path`, read as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let req = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token);
        read(&format!("GET {path}"), send(&self.base, req).await?).await
    }

    /// `GET path`, answered with a success status, for a caller that reads
    /// the body as a stream.
    pub async fn get_raw(&self, path: &str) -> Result<reqwest::Response, ClientError> {
        let req = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token);
        let res = send(&self.base, req).await?;
        if res.status().is_success() {
            return Ok(res);
        }
        let what = format!("GET {path}");
        let status = res.status();
        let bytes =
            res.bytes().await.map_err(|e| ClientError::BadAnswer { what: what.clone(), detail: e.to_string() })?;
        Err(refused(&what, status, &bytes))
    }

    /// `POST path` with a JSON body, read as `T`.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, ClientError> {
        let req = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body);
        read(&format!("POST {path}"), send(&self.base, req).await?).await
    }

    /// Uploads a CSV body to `path`, calling `sent(bytes so far)` as it
    /// goes, and reads the answer as `T`.
    pub async fn upload_csv<T: DeserializeOwned>(
        &self,
        path: &str,
        csv: Vec<u8>,
        sent: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<T, ClientError> {
        const CHUNK: usize = 64 * 1024;
        let total = csv.len() as u64;
        let chunks: Vec<Vec<u8>> = csv.chunks(CHUNK).map(<[u8]>::to_vec).collect();
        let mut so_far = 0u64;
        let stream = futures::stream::iter(chunks).map(move |chunk| {
            so_far += chunk.len() as u64;
            sent(so_far);
            Ok::<_, std::io::Error>(chunk)
        });
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .header(reqwest::header::CONTENT_LENGTH, total)
            .body(reqwest::Body::wrap_stream(stream));
        read(&format!("the upload to {path}"), send(&self.base, req).await?).await
    }
}

async fn send(base: &str, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
    req.send().await.map_err(|source| ClientError::Unreachable { url: base.to_owned(), source })
}

/// Reads a JSON answer, turning an error status into [`ClientError::Refused`]
/// with the API's error message.
async fn read<T: DeserializeOwned>(what: &str, res: reqwest::Response) -> Result<T, ClientError> {
    let status = res.status();
    let bytes =
        res.bytes().await.map_err(|e| ClientError::BadAnswer { what: what.to_owned(), detail: e.to_string() })?;
    if !status.is_success() {
        return Err(refused(what, status, &bytes));
    }
    serde_json::from_slice(&bytes).map_err(|e| ClientError::BadAnswer { what: what.to_owned(), detail: e.to_string() })
}

/// An error status as [`ClientError::Refused`], with the API's message.
fn refused(what: &str, status: StatusCode, bytes: &[u8]) -> ClientError {
    let message = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).chars().take(200).collect());
    ClientError::Refused { what: what.to_owned(), status, message }
}
