//! Secrets that must never reach a log line or a `Debug` print, and the random tokens we hand
//! out (stored only as their SHA-256).

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A string whose `Debug` and `Display` are redacted (database URLs with passwords, SMTP
/// credentials, tokens).
#[derive(Clone, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself: call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// A URL printed with its password replaced, for startup logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A new random token: `prefix` followed by 32 random bytes in hex.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// The SHA-256 of a token, as stored. Tokens carry 256 bits of entropy, so a fast hash is
/// enough; passwords use argon2id instead.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_urls() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(format!("{:?}", Secret::new("pw")), "\"<redacted>\"");
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let a = new_token("fct_");
        assert!(a.starts_with("fct_") && a.len() == 68);
        assert_ne!(a, new_token("fct_"));
        assert_eq!(token_hash(&a).len(), 64);
    }
}
