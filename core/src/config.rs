//! Configuration: defaults, then `forecourt.toml` in the working directory, then the
//! environment. Unknown keys in the file are warned about, not fatal; secrets are redacted.

use crate::secret::Secret;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole configuration of a node.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on (`FORECOURT_BIND`).
    pub bind: String,
    /// Where the SQLite file, the mail folder and uploads live (`FORECOURT_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...` (`DATABASE_URL`); unset = `forecourt.db` in data_dir.
    pub database_url: Option<Secret>,
    /// Redis for the shared cache and invalidations (`REDIS_URL`); unset = in-process.
    pub redis_url: Option<Secret>,
    /// `smtp://user:pass@host:port` or `smtps://...` (`SMTP_URL`); unset = `.eml` files.
    pub smtp_url: Option<Secret>,
    /// Sender of every mail (`FORECOURT_MAIL_FROM`).
    pub mail_from: String,
    /// Base URL of the front end, used in links inside mails (`FORECOURT_PUBLIC_URL`).
    pub public_url: String,
    /// Lifetime of a login token, in hours.
    pub token_ttl_hours: i64,
    /// Lifetime of an invitation link, in hours.
    pub invitation_ttl_hours: i64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest file accepted on the upload routes modules declare (documents), in bytes.
    pub max_upload_bytes: usize,
    /// Prefix of every cache key and of the invalidation channel, so several deployments can
    /// share one Redis.
    pub cache_prefix: String,
    /// How long a Redis call may take before the request falls back to the database.
    pub redis_timeout_ms: u64,
    /// How often a node checks that its permission caches are current, in milliseconds
    /// (the safety net for invalidations lost while a node was disconnected from Redis).
    pub authz_refresh_ms: u64,
    /// How often the mail outbox is polled, in milliseconds.
    pub outbox_poll_ms: u64,
    /// How often each node runs the opportunity expiry sweep, in seconds.
    pub expiry_sweep_secs: u64,
    /// Failed logins allowed per account within `login_window_secs`.
    pub login_max_failures_per_account: u64,
    /// Failed logins allowed per client address within `login_window_secs`.
    pub login_max_failures_per_address: u64,
    /// Window of the login throttle, in seconds.
    pub login_window_secs: u64,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// First operator account, created on first start when no operator exists.
    pub operator_email: Option<String>,
    /// Password of that first operator.
    pub operator_password: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("."),
            database_url: None,
            redis_url: None,
            smtp_url: None,
            mail_from: "Forecourt <no-reply@forecourt.localhost>".into(),
            public_url: "http://127.0.0.1:8080".into(),
            token_ttl_hours: 12,
            invitation_ttl_hours: 168,
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 20 * 1024 * 1024,
            cache_prefix: "fc".into(),
            redis_timeout_ms: 150,
            authz_refresh_ms: 5000,
            outbox_poll_ms: 2000,
            expiry_sweep_secs: 600,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 50,
            login_window_secs: 900,
            log_format: "text".into(),
            operator_email: None,
            operator_password: None,
        }
    }
}

/// Every key, and whether its value is a number (environment values are parsed accordingly).
const KEYS: &[(&str, bool)] = &[
    ("bind", false),
    ("data_dir", false),
    ("database_url", false),
    ("redis_url", false),
    ("smtp_url", false),
    ("mail_from", false),
    ("public_url", false),
    ("token_ttl_hours", true),
    ("invitation_ttl_hours", true),
    ("max_body_bytes", true),
    ("max_upload_bytes", true),
    ("cache_prefix", false),
    ("redis_timeout_ms", true),
    ("authz_refresh_ms", true),
    ("outbox_poll_ms", true),
    ("expiry_sweep_secs", true),
    ("login_max_failures_per_account", true),
    ("login_max_failures_per_address", true),
    ("login_window_secs", true),
    ("log_format", false),
    ("operator_email", false),
    ("operator_password", false),
];

fn known(key: &str) -> bool {
    KEYS.iter().any(|(k, _)| *k == key)
}

/// The environment variable that overrides a key: the well-known names of API.md for the
/// connection URLs, `FORECOURT_<KEY>` for everything else.
fn env_name(key: &str) -> String {
    match key {
        "database_url" | "redis_url" | "smtp_url" => key.to_ascii_uppercase(),
        _ => format!("FORECOURT_{}", key.to_ascii_uppercase()),
    }
}

/// A configuration that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Defaults, then `path` if it exists, then the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_from(path, |k| std::env::var(k).ok())
    }

    /// Like [`Config::load`] with an explicit environment, for tests.
    pub fn load_from(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table = if path.exists() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
            text.parse::<toml::Table>()
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
        } else {
            toml::Table::new()
        };
        for key in table.keys() {
            if !known(key) {
                tracing::warn!(key = %key, file = %path.display(), "unknown configuration key ignored");
            }
        }
        for (key, numeric) in KEYS {
            if let Some(raw) = env(&env_name(key)).filter(|v| !v.is_empty()) {
                let value = if *numeric {
                    raw.parse::<i64>()
                        .map(toml::Value::Integer)
                        .map_err(|_| ConfigError(format!("{}: not a number", env_name(key))))?
                } else {
                    toml::Value::String(raw)
                };
                table.insert((*key).to_string(), value);
            }
        }
        table.retain(|k, _| known(k));
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(e.to_string()))
    }

    /// The database URL in effect: the configured one, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_string(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("forecourt.db").display()
            ),
        }
    }

    /// The folder where mail is written when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("forecourt.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9\"\nlogin_window_secs = 60\nbogus = 1\n",
        )
        .unwrap();
        let cfg = Config::load_from(&file, |k| match k {
            "FORECOURT_LOGIN_WINDOW_SECS" => Some("30".into()),
            "DATABASE_URL" => Some("postgres://u:p@h/db".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.bind, "0.0.0.0:9");
        assert_eq!(cfg.login_window_secs, 30);
        assert_eq!(cfg.database_url(), "postgres://u:p@h/db");
        assert!(
            !format!("{cfg:?}").contains(":p@"),
            "secrets must not appear in Debug"
        );
    }

    #[test]
    fn defaults_to_sqlite_in_data_dir() {
        let cfg = Config::load_from(Path::new("/nonexistent.toml"), |_| None).unwrap();
        assert!(cfg.database_url().starts_with("sqlite://./forecourt.db"));
        assert_eq!(cfg.bind, "127.0.0.1:8080");
    }

    #[test]
    fn bad_number_is_an_error() {
        let err = Config::load_from(Path::new("/nonexistent.toml"), |k| {
            (k == "FORECOURT_TOKEN_TTL_HOURS").then(|| "soon".to_string())
        });
        assert!(err.is_err());
    }
}
