//! argon2id password hashing, off the async threads.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use forecourt_core::msg;
use forecourt_core::{Error, Result};

/// Minimum password length.
pub const MIN_LEN: usize = 10;

/// Checks a new password's length (other rules are left to the user's password manager).
pub fn check_new(field: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(Error::invalid(
            field,
            msg!("a password has at least {MIN_LEN} characters", MIN_LEN),
        ));
    }
    if n > 256 {
        return Err(Error::invalid(
            field,
            msg!("a password has at most 256 characters"),
        ));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt.
pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

/// A hash of a password nobody knows, verified against when the account does not exist, so
/// an unknown email costs as much time as a wrong password.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Gm1PXbcd7Lqy6Ka9m4R6EzV2oNLE7Z7N1YkF+W4l+8";

/// Whether `password` matches `stored` (or, with no stored hash, burns the same time and fails).
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_string();
    let (stored, real) = match stored {
        Some(s) => (s.to_string(), true),
        None => (DUMMY.to_string(), false),
    };
    tokio::task::spawn_blocking(move || {
        let ok = PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)).await);
        assert!(!verify("wrong", Some(&h)).await);
        assert!(!verify("anything", None).await);
        assert!(check_new("password", "short").is_err());
    }
}
