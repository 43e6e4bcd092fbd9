//! The state every request shares: the composition root. Nothing below it in `core` names it
//! except the request-level helpers that take it whole (activity, unit of work, http).

use crate::{
    authz::Authz, cache::Cache, clock::Clock, config::Config, mail::Mailer, module::Module,
    ports::Ports, registry::Registry, storage::Storage,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// A module as this binary hosts it.
pub type AppModule = dyn Module<App>;

/// The registry of this binary's modules.
pub type AppRegistry = Registry<App>;

/// Handles to everything a request may need. Cheap to share behind an `Arc`.
pub struct App {
    /// The configuration in effect.
    pub config: Config,
    /// The database pool.
    pub db: DatabaseConnection,
    /// The cache (Redis or in-process).
    pub cache: Cache,
    /// The permission enforcer.
    pub authz: Authz,
    /// Mail rendering and the outbox.
    pub mail: Mailer,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// The modules compiled in.
    pub registry: Arc<AppRegistry>,
    /// What modules may ask of one another.
    pub ports: Ports<App>,
    /// Uploaded files.
    pub storage: Arc<dyn Storage>,
    /// One writing request at a time on SQLite (see [`crate::db::WriteGate`]).
    pub write_gate: crate::db::WriteGate,
    /// The statements `db` has sent (benches and tests count round trips with it).
    pub statements: crate::db::Statements,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("registry", &self.registry)
            .field("cache", &self.cache)
            .finish()
    }
}
