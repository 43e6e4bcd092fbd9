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
    /// Principals and tenant facts kept in process (see [`crate::principals`]).
    pub principals: Arc<crate::principals::Principals>,
}

impl App {
    /// Announces a change that committed: applied on this node at once (so the caller's next
    /// request already sees it), then published to the other nodes.
    pub async fn announce(&self, inv: crate::cache::Invalidation) {
        self.principals.apply(&inv);
        self.cache.publish(inv).await;
    }

    /// How long this node may trust a principal or tenant facts it keeps: until a change is
    /// announced while it hears the other nodes, briefly otherwise.
    pub fn trust_kept_for(&self) -> std::time::Duration {
        if self.cache.hears_other_nodes() {
            crate::principals::HEARING
        } else {
            crate::principals::DEAF
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("registry", &self.registry)
            .field("cache", &self.cache)
            .finish()
    }
}
