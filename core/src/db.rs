//! The one place a database connection is made: the URL scheme picks the backend.

use crate::secret::redact_url;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

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
        // Plan every statement for its own parameters. A pooled connection otherwise settles,
        // after five executions, on a generic plan made with the statistics of that moment,
        // and keeps it for its whole life: plans made while a table was empty (a new
        // database, a new module's table) chose an index that reads the whole tenant, and
        // foreign-key checks of every child row then slowed down as the tenant grew (intake
        // ran six times slower after 20,000 leads). Tenants of very different sizes share
        // each statement too, so a plan fitted to one can be wrong for another. Planning our
        // short statements costs a few microseconds.
        opts.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
    }
    tracing::info!(url = %redact_url(url), "connecting to the database");
    Database::connect(opts).await
}

/// How many statements a pool has sent (BEGIN and COMMIT excepted), counted by a callback
/// sea-orm runs after each one. The benches print it per request and the tests assert on it:
/// round trips to the database are the cost that matters most, and this counts them exactly.
#[derive(Debug, Clone, Default)]
pub struct Statements(Arc<AtomicU64>);

impl Statements {
    /// Counts the statements of `db` (and of every clone made of it afterwards).
    pub fn attach(&self, db: &mut DatabaseConnection) {
        let n = self.0.clone();
        db.set_metric_callback(move |_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Statements sent so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// True when the connection is PostgreSQL (for the few queries that differ).
pub fn is_postgres(db: &impl sea_orm::ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Begins a transaction that may write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
/// taken up front, so concurrent writers wait their turn under the busy timeout instead of
/// failing when a read transaction tries to become a write one (which SQLite refuses at once,
/// without waiting). PostgreSQL ignores the mode.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// SQLite has one writer, and its busy handler is neither fair nor ordered: under a burst of
/// writes a request can wait past the busy timeout while later ones keep taking the lock. On
/// SQLite a node therefore lets one writing request run at a time, first come first served
/// (tokio's mutex is fair); on PostgreSQL the gate is open.
#[derive(Debug, Default)]
pub struct WriteGate(Option<tokio::sync::Mutex<()>>);

impl WriteGate {
    /// The gate a node on `db` needs: closed in turn on SQLite, open on PostgreSQL.
    pub fn for_db(db: &DatabaseConnection) -> Self {
        Self((!is_postgres(db)).then(|| tokio::sync::Mutex::new(())))
    }

    /// Waits for this request's turn to write; the turn ends when the guard is dropped.
    pub async fn enter(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.0 {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }
}
