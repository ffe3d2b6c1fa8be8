//! `X-Twilio-Signature`: HMAC-SHA1 over the full URL followed by each form
//! parameter's name and value, names sorted bytewise, base64-encoded.
//! Twilio's own validators also accept the URL with the default port added
//! or removed, so a proxy that rewrites the port does not break us.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The signature Twilio sends for a form POST to `url` with `params`.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sorted.sort_unstable();
    // A key of any length is accepted by HMAC, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// True when `signature` is Twilio's for this URL (or its default-port
/// variant) and parameters; compared in constant time.
pub fn validate(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let signature = signature.trim().as_bytes();
    let mut ok = false;
    for candidate in url_variants(url) {
        let expected = compute_signature(auth_token, &candidate, params);
        // Evaluate every variant so timing does not tell which one matched.
        ok |= bool::from(expected.as_bytes().ct_eq(signature));
    }
    ok
}

/// The URL as given, plus the same URL with its scheme's default port
/// toggled (added when absent, removed when present).
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let default = match url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase()) {
        Some(s) if s == "https" => "443",
        Some(s) if s == "http" => "80",
        _ => return out,
    };
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[start..].find(['/', '?', '#']).map(|i| start + i).unwrap_or(url.len());
    let authority = &url[start..end];
    let port_sep = authority.rfind(':').filter(|&i| !authority[i..].contains(']'));
    let toggled = match port_sep {
        Some(i) if &authority[i + 1..] == default => authority[..i].to_owned(),
        Some(_) => return out,
        None => format!("{authority}:{default}"),
    };
    out.push(format!("{}{toggled}{}", &url[..start], &url[end..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const VECTOR: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    #[test]
    fn matches_twilios_public_test_vector() {
        assert_eq!(compute_signature("12345", URL, &params()), VECTOR);
        assert!(validate("12345", URL, &params(), VECTOR));
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut reversed = params();
        reversed.reverse();
        assert_eq!(compute_signature("12345", URL, &reversed), VECTOR);
    }

    #[test]
    fn refuses_wrong_token_url_params_or_signature() {
        assert!(!validate("54321", URL, &params(), VECTOR));
        assert!(!validate("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", &params(), VECTOR));
        let mut changed = params();
        changed[2].1 = "9999".into();
        assert!(!validate("12345", URL, &changed, VECTOR));
        assert!(!validate("12345", URL, &params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8"));
        assert!(!validate("12345", URL, &params(), ""));
    }

    #[test]
    fn accepts_the_default_port_added_or_removed() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let signed_with_port = compute_signature("12345", with_port, &params());
        assert!(validate("12345", URL, &params(), &signed_with_port));
        assert!(validate("12345", with_port, &params(), VECTOR));
        // Another port is another URL.
        let other = compute_signature("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", &params());
        assert!(!validate("12345", URL, &params(), &other));
    }

    #[test]
    fn repeated_names_are_sorted_by_value() {
        let a = vec![("E".to_string(), "b".to_string()), ("E".to_string(), "a".to_string())];
        let b = vec![("E".to_string(), "a".to_string()), ("E".to_string(), "b".to_string())];
        assert_eq!(compute_signature("t", URL, &a), compute_signature("t", URL, &b));
    }
}
