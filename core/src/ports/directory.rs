//! The platform directory (credentials, tenants, users, establishments, companies) as modules
//! see it. Implemented by the `tenants` crate, which owns those tables; modules ask through
//! this port instead of naming the tables.

use crate::{
    Result,
    context::{Authenticated, TenantInfo},
    tenancy::TenantId,
};
use sea_orm::DatabaseExecutor;
use std::collections::HashMap;
use uuid::Uuid;

/// A kind of directory record that module rows refer to by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    /// A user of the tenant (active or not).
    User,
    /// An establishment (site) of the tenant.
    Establishment,
    /// A company (legal entity) of the tenant.
    Company,
    /// A team of the tenant's users.
    Team,
}

/// Where a user receives mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The address.
    pub email: String,
    /// The display name.
    pub name: String,
}

/// How the host resolves credentials and tenants, and what modules may ask of the directory.
/// Every query takes the connection to run on, so a module can ask inside its transaction.
#[async_trait::async_trait]
pub trait Directory<A: Sync>: Send + Sync + 'static {
    /// The principal behind a bearer credential, or `None` when it is unknown, expired or
    /// revoked.
    async fn authenticate(&self, app: &A, bearer: &str) -> Result<Option<Authenticated>>;
    /// A tenant's licence, status and toggles (cached).
    async fn tenant_info(&self, app: &A, tenant_id: Uuid) -> Result<Option<TenantInfo>>;
    /// Whether `id` names a record of `kind` in the tenant.
    async fn exists(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        kind: DirectoryKind,
        id: Uuid,
    ) -> Result<bool>;
    /// The names of the records of `kind` among `ids` in the tenant (unknown ids are absent).
    async fn names(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        kind: DirectoryKind,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, String>>;
    /// The tenant's display name (for mail); empty when unknown.
    async fn tenant_name(&self, db: DatabaseExecutor<'_>, tenant: TenantId) -> Result<String>;
    /// An active user's mailbox, `None` for an unknown or deactivated user.
    async fn mailbox(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        user_id: Uuid,
    ) -> Result<Option<Mailbox>>;
    /// The company an establishment belongs to.
    async fn company_of(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        establishment_id: Uuid,
    ) -> Result<Option<Uuid>>;
    /// Every tenant, for jobs that walk them (suspended ones included: a job decides).
    async fn tenants(&self, db: DatabaseExecutor<'_>) -> Result<Vec<TenantId>>;
}
