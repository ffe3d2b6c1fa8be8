//! Requests to our webhooks, signed as Twilio signs them: form POSTs carry
//! the parameters in the body, GETs in the query string; the signature
//! covers the full URL plus, for POSTs, the sorted parameters.

use ibrat_twilio::signature::compute_signature;

use crate::call::WebhookError;
use crate::twiml::Method;

/// Twilio's debugger code for a webhook that failed or answered non-2xx.
pub(crate) const HTTP_RETRIEVAL_FAILURE: u32 = 11200;
/// Twilio's debugger code for an answer that is not TwiML.
pub(crate) const DOCUMENT_PARSE_FAILURE: u32 = 12100;

/// Sends one webhook request and returns the answer's body when it is 2xx.
pub(crate) async fn send(
    http: &reqwest::Client,
    auth_token: &str,
    url: &str,
    method: Method,
    params: &[(String, String)],
) -> Result<String, WebhookError> {
    let fail = |message: String| WebhookError { url: url.to_owned(), code: HTTP_RETRIEVAL_FAILURE, message };
    let request = match method {
        Method::Post => {
            let body = serde_urlencoded::to_string(params).map_err(|e| fail(format!("cannot encode the form: {e}")))?;
            http.post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("X-Twilio-Signature", compute_signature(auth_token, url, params))
                .body(body)
        }
        Method::Get => {
            let query =
                serde_urlencoded::to_string(params).map_err(|e| fail(format!("cannot encode the query: {e}")))?;
            let sep = if url.contains('?') { '&' } else { '?' };
            let full = format!("{url}{sep}{query}");
            let signature = compute_signature(auth_token, &full, &[]);
            http.get(full).header("X-Twilio-Signature", signature)
        }
    };
    let response = request
        .header(reqwest::header::USER_AGENT, "TwilioProxy/1.1")
        .header(reqwest::header::ACCEPT, "*/*")
        .send()
        .await
        .map_err(|e| fail(format!("request failed: {e}")))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| fail(format!("reading the answer failed: {e}")))?;
    if !status.is_success() {
        return Err(fail(format!("answered HTTP {}", status.as_u16())));
    }
    Ok(body)
}
