//! What a module declares to the host. The trait is generic over the application state `A`
//! (always [`crate::App`] in the binary) so that this file does not depend on the state that
//! holds the registry of modules: the host knows modules, modules know only this trait.

use crate::{
    Result,
    access::{PermissionObject, Tier},
    context::TenantUser,
    events::Event,
};
use sea_orm::{DatabaseTransaction, sea_query::SelectStatement};
use uuid::Uuid;

/// Which records of one entity type a caller may read, as the module that owns the type
/// answers (see [`Module::readable`]).
#[derive(Debug, Clone)]
pub enum Readable {
    /// None.
    Nothing,
    /// Every entry of the type: settings-like entries that name no deletable record.
    All,
    /// The records whose ids this subquery selects; it must select one id column and pin the
    /// tenant. A deleted or merged record is no longer selected, so its history is left to
    /// `activity` admins.
    Ids(Box<SelectStatement>),
}

impl Readable {
    /// The ids of the rows `query` selects; the query must already pin the tenant and keep
    /// only what the caller may read.
    pub fn ids<E: sea_orm::EntityTrait>(query: sea_orm::Select<E>, id: E::Column) -> Self {
        use sea_orm::{QuerySelect, QueryTrait};
        Readable::Ids(Box::new(query.select_only().column(id).into_query()))
    }
}

/// A feature module. Implemented once per crate under `modules/` (and by `tenants`), listed in
/// the registry the binary builds.
#[async_trait::async_trait]
pub trait Module<A: Sync>: Send + Sync + 'static {
    /// Stable identifier, e.g. `sources`. Used in toggles, errors and permission docs.
    fn id(&self) -> &'static str;
    /// Human name for the settings screen.
    fn name(&self) -> &'static str;
    /// The licence tiers that include this module.
    fn tiers(&self) -> &'static [Tier];
    /// Modules that must be registered (and enabled) for this one to work.
    fn depends_on(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether a tenant admin may switch it off (the platform itself cannot be).
    fn can_be_disabled(&self) -> bool {
        true
    }
    /// Path prefixes of the API this module serves (e.g. `/api/v1/lead-sources`, or
    /// `/api/v1/contacts/*/consents` where `*` stands for one path segment). Requests under
    /// them are gated by licence and toggle before they reach the handler; the most specific
    /// prefix wins.
    fn api_prefixes(&self) -> &'static [&'static str];
    /// Paths (with `*` standing for one segment, matched as prefixes like
    /// [`Module::api_prefixes`]) that take file uploads: their bodies may be as large as
    /// `max_upload_bytes` instead of `max_body_bytes`.
    fn upload_paths(&self) -> &'static [&'static str] {
        &[]
    }
    /// The permission objects the module defines.
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[]
    }
    /// Mail templates this module sends, as `(name, source)` pairs named
    /// `<template>.<lang>.<subject|txt|html>` for every language of [`crate::mail::LANGUAGES`].
    fn mail_templates(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// The data this module gives every tenant once, by name (e.g. `opportunity` for the
    /// default opportunity statuses). Each (tenant, set) is seeded by [`Module::seed_default`]
    /// at onboarding, or at the next start for a tenant onboarded before the set existed, and
    /// marked as given (beside the default grants, as `<module>:<set>`), so an admin's later
    /// changes, even deleting all of it, are never undone. Seeded whatever the tenant's tier,
    /// so a tenant that moves up finds it ready.
    fn default_sets(&self) -> &'static [&'static str] {
        &[]
    }
    /// Seeds `set` (one of [`Module::default_sets`]) for `tenant` inside `txn`, at `now`.
    async fn seed_default(
        &self,
        _app: &A,
        _txn: &DatabaseTransaction,
        _tenant: crate::tenancy::TenantId,
        _set: &str,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        Ok(())
    }
    /// Reacts to a core event inside the transaction that raised it.
    async fn on_event(&self, _app: &A, _txn: &DatabaseTransaction, _event: &Event) -> Result<()> {
        Ok(())
    }
    /// The entity types this module writes to the activity log (e.g. `contact`). Their
    /// entries are shown to a caller who is not an `activity` admin only where
    /// [`Module::readable`] admits the record; entries of types no available module claims
    /// are shown to `activity` admins only.
    fn activity_entities(&self) -> &'static [&'static str] {
        &[]
    }
    /// Which records of `entity_type` (one of [`Module::activity_entities`]) `user` may read,
    /// with the same scopes and sharing as the module's own reads: their history is visible
    /// exactly to those who may read the record.
    async fn readable(&self, _app: &A, _user: &TenantUser, _entity_type: &str) -> Result<Readable> {
        Ok(Readable::Nothing)
    }
    /// Extra search terms this module holds for a contact (e.g. a fleet code), indexed by the
    /// contact search whenever the contact is (re)indexed.
    async fn contact_terms(
        &self,
        _app: &A,
        _txn: &DatabaseTransaction,
        _tenant_id: Uuid,
        _contact_id: Uuid,
    ) -> Result<Vec<String>> {
        Ok(vec![])
    }
    /// This module's part of a contact read, shown as `extensions.<module id>` when the module
    /// is available to the tenant. Reads run on the pool, outside any transaction: one
    /// statement, and none at all for a tenant without the module.
    async fn contact_extension(
        &self,
        _app: &A,
        _db: sea_orm::DatabaseExecutor<'_>,
        _tenant_id: Uuid,
        _contact_id: Uuid,
    ) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
}
