//! The Standard Webhooks signature (<https://www.standardwebhooks.com/>): a partner signs
//! `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 keyed by the base64-decoded part
//! of the connector's `whsec_...` secret, and sends `webhook-signature: v1,<base64>` (several
//! space-separated entries are allowed, so a sender can sign with two secrets while rotating).

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a connector secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far the signed timestamp may be from the server's clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// Longest `webhook-id` accepted (it becomes part of idempotency keys).
pub const MAX_WEBHOOK_ID: usize = 255;

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key of a secret: its base64-decoded part.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// The `v1,<base64>` signature of a delivery (what a partner sends).
pub fn sign(key: &[u8], webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(key, webhook_id, timestamp, body)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default();
    format!("v1,{}", STANDARD.encode(digest))
}

/// The HMAC over the signed content. HMAC takes keys of any length, so this is always `Some`.
fn mac(key: &[u8], webhook_id: &str, timestamp: i64, body: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The three signature headers as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// Checks a delivery's signature against any of `keys` (the current secret, and the previous
/// one during its grace period). Answers the verified `webhook-id`, or which check failed, in
/// words a partner can act on; never the expected signature.
pub fn verify<'a>(
    headers: SignatureHeaders<'a>,
    body: &[u8],
    now: DateTime<Utc>,
    keys: &[Vec<u8>],
) -> Result<&'a str, String> {
    let id = headers
        .id
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or("the `webhook-id` header is missing")?;
    if id.len() > MAX_WEBHOOK_ID {
        return Err(format!(
            "the `webhook-id` header is longer than {MAX_WEBHOOK_ID} bytes"
        ));
    }
    let raw_ts = headers
        .timestamp
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or("the `webhook-timestamp` header is missing")?;
    let timestamp: i64 = raw_ts
        .parse()
        .map_err(|_| "the `webhook-timestamp` header is not a Unix time in seconds".to_string())?;
    let skew = now.timestamp().saturating_sub(timestamp);
    if skew > TOLERANCE_SECS {
        return Err(format!(
            "the `webhook-timestamp` is {skew} s in the past: more than {TOLERANCE_SECS} s away \
             from the server's time ({}); sign each delivery when sending it",
            now.timestamp()
        ));
    }
    if skew < -TOLERANCE_SECS {
        return Err(format!(
            "the `webhook-timestamp` is {} s in the future: more than {TOLERANCE_SECS} s away \
             from the server's time ({}); check the sender's clock",
            -skew,
            now.timestamp()
        ));
    }
    let signature = headers
        .signature
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or("the `webhook-signature` header is missing")?;
    let candidates: Vec<Vec<u8>> = signature
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    if candidates.is_empty() {
        return Err("the `webhook-signature` header holds no `v1,<base64>` signature".to_string());
    }
    // `verify_slice` compares in constant time.
    let matched = keys.iter().any(|key| {
        mac(key, id, timestamp, body).is_some_and(|expected| {
            candidates
                .iter()
                .any(|c| expected.clone().verify_slice(c).is_ok())
        })
    });
    if matched {
        Ok(id)
    } else {
        Err("no signature in `webhook-signature` matches: sign `{webhook-id}.{webhook-timestamp}.{body}` \
             (the exact bytes sent) with HMAC-SHA256, keyed by the base64-decoded part of the \
             connector's current secret"
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_random_and_decodable() {
        let a = new_secret();
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(key_of(&a).unwrap().len(), 32);
        assert_ne!(a, new_secret());
    }

    #[test]
    fn verifies_any_matching_entry_with_any_key() {
        let old = key_of(&new_secret()).unwrap();
        let new = key_of(&new_secret()).unwrap();
        let ts = now().timestamp().to_string();
        let good = sign(&new, "msg_1", now().timestamp(), b"body");
        let sig = format!("v1,AAAA {good} v2,zzz");
        assert_eq!(
            verify(
                headers("msg_1", &ts, &sig),
                b"body",
                now(),
                &[old.clone(), new.clone()]
            ),
            Ok("msg_1")
        );
        assert!(verify(headers("msg_1", &ts, &sig), b"body", now(), &[old]).is_err());
        assert!(
            verify(
                headers("msg_1", &ts, &sig),
                b"bodY",
                now(),
                std::slice::from_ref(&new)
            )
            .is_err()
        );
        assert!(verify(headers("msg_2", &ts, &sig), b"body", now(), &[new]).is_err());
    }

    #[test]
    fn refuses_missing_headers_and_stale_timestamps() {
        let key = key_of(&new_secret()).unwrap();
        let keys = [key.clone()];
        let at = |secs: i64| {
            let ts = now().timestamp() + secs;
            let sig = sign(&key, "m", ts, b"x");
            verify(headers("m", &ts.to_string(), &sig), b"x", now(), &keys).map(str::to_string)
        };
        assert!(at(0).is_ok());
        assert!(at(-300).is_ok() && at(300).is_ok());
        assert!(at(-301).unwrap_err().contains("in the past"));
        assert!(at(301).unwrap_err().contains("in the future"));
        let missing = SignatureHeaders::default();
        assert!(
            verify(missing, b"x", now(), &keys)
                .unwrap_err()
                .contains("webhook-id")
        );
        let e = verify(headers("m", "yesterday", "v1,x"), b"x", now(), &keys).unwrap_err();
        assert!(e.contains("Unix time"), "{e}");
        let ts = now().timestamp().to_string();
        let e = verify(headers("m", &ts, "v0,abc"), b"x", now(), &keys).unwrap_err();
        assert!(e.contains("no `v1"), "{e}");
    }
}
