//! Twilio's error answers mapped onto the telephony port's typed errors, so
//! the dialer knows what to retry, what marks a lead invalid and what stops
//! dialing altogether.

use ibrat_ports::TelephonyError;
use serde::Deserialize;

/// Twilio's error body: `{"code":21211,"message":"...","more_info":"...","status":400}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    message: Option<String>,
}

/// Error codes that mean the number itself cannot be called: the lead is
/// marked invalid and never retried.
const INVALID_NUMBER_CODES: &[u32] = &[
    13223, // invalid phone number format
    13224, // invalid phone number
    13225, // forbidden phone number
    13226, // invalid country code
    21211, // invalid 'To' phone number
    21214, // 'To' number cannot be reached
    21215, // geo permissions do not allow this number
    21216, // call blocked by Twilio's blocklist
    21217, // phone number does not appear to be valid
    21401, // invalid phone number
    21407, // this phone number type does not support voice
    21612, // the 'To' number is not currently reachable
];

/// Maps an HTTP status, Twilio's error body and `Retry-After` to the port's
/// error.
pub fn map_error(status: u16, body: &str, retry_after_secs: Option<u64>) -> TelephonyError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().and_then(|b| b.code).unwrap_or(0);
    let message = parsed
        .and_then(|b| b.message)
        .unwrap_or_else(|| format!("HTTP {status}: {}", body.chars().take(200).collect::<String>()));
    match (status, code) {
        (429, _) | (_, 20429) => TelephonyError::RateLimited { retry_after_secs },
        (401, _) | (403, 20003) | (_, 20003) => TelephonyError::Auth(message),
        (404, _) | (_, 20404) => TelephonyError::NotFound,
        (500..=599, _) => TelephonyError::Unavailable(message),
        (_, c) if INVALID_NUMBER_CODES.contains(&c) => TelephonyError::InvalidNumber { code: c, message },
        (_, c) => TelephonyError::Rejected { code: c, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: u32, status: u16) -> String {
        format!(
            r#"{{"code":{code},"message":"m{code}","more_info":"https://www.twilio.com/docs/errors/{code}","status":{status}}}"#
        )
    }

    #[test]
    fn maps_each_class() {
        assert_eq!(
            map_error(400, &body(21211, 400), None),
            TelephonyError::InvalidNumber { code: 21211, message: "m21211".into() }
        );
        assert_eq!(
            map_error(429, &body(20429, 429), Some(3)),
            TelephonyError::RateLimited { retry_after_secs: Some(3) }
        );
        assert_eq!(map_error(401, &body(20003, 401), None), TelephonyError::Auth("m20003".into()));
        assert_eq!(map_error(404, &body(20404, 404), None), TelephonyError::NotFound);
        assert!(
            matches!(map_error(503, "<html>down</html>", None), TelephonyError::Unavailable(m) if m.contains("503"))
        );
        assert_eq!(
            map_error(400, &body(21210, 400), None),
            TelephonyError::Rejected { code: 21210, message: "m21210".into() }
        );
        assert!(map_error(500, "", None).is_retryable());
        assert!(!map_error(400, &body(21211, 400), None).is_retryable());
    }
}
