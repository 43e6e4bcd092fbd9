//! The one place a database connection is made: the URL scheme picks the backend.

use crate::secret::redact_url;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use std::time::Duration;

/// Connects to SQLite (WAL, foreign keys on, busy timeout) or PostgreSQL (a pool), by scheme.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
        // SQLite has one writer; a small pool avoids lock convoys.
        opts.max_connections(8).min_connections(1);
    } else {
        opts.max_connections(20).min_connections(1);
    }
    tracing::info!(url = %redact_url(url), "connecting to the database");
    Database::connect(opts).await
}

/// True when the connection is PostgreSQL (for the few queries that differ).
pub fn is_postgres(db: &impl sea_orm::ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}
