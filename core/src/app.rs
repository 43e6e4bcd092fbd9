//! The state every request shares.

use crate::{
    authz::Authz,
    cache::Cache,
    clock::Clock,
    config::Config,
    context::Directory,
    mail::Mailer,
    module::{ContactPort, LeadPort, LeadSourceUsers, Registry},
    storage::Storage,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

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
    pub registry: Arc<Registry>,
    /// Credentials and tenants.
    pub directory: Arc<dyn Directory>,
    /// The contact store, for modules that attach records to contacts.
    pub contacts: Arc<dyn ContactPort>,
    /// The CRM's intake of leads from partners.
    pub leads: Arc<dyn LeadPort>,
    /// Every module's records that refer to lead sources (asked before one is deleted).
    pub lead_source_users: Vec<Arc<dyn LeadSourceUsers>>,
    /// Uploaded files.
    pub storage: Arc<dyn Storage>,
    /// One writing request at a time on SQLite (see [`crate::db::WriteGate`]).
    pub write_gate: crate::db::WriteGate,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("registry", &self.registry)
            .field("cache", &self.cache)
            .finish()
    }
}
