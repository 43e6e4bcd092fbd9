//! Lead sources as other modules see them (owned by `sources`).

use crate::{Result, tenancy::TenantId};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseExecutor, DatabaseTransaction};
use uuid::Uuid;

/// Records of one module that point at a lead source, counted for the `sources` module, which
/// owns lead sources but not what refers to them (crm's opportunities, connectors'
/// connectors). Before deleting a source it asks every implementation, so a source in use is
/// refused with a 409 naming its users instead of tripping a foreign key.
#[async_trait::async_trait]
pub trait LeadSourceUsers: Send + Sync + 'static {
    /// The kind of record counted, as named in the problem's `used_by` (`opportunities`).
    fn kind(&self) -> &'static str;
    /// How many of the tenant's records refer to `source_id`, read inside the caller's
    /// transaction (the one that would delete the source).
    async fn count(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        source_id: Uuid,
    ) -> Result<u64>;
}

/// A lead source as another module needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadSourceFacts {
    /// The source's id.
    pub id: Uuid,
    /// Its current name.
    pub name: String,
    /// Inactive sources stay on past records but are not offered for new ones.
    pub active: bool,
}

/// What [`LeadSources::find_or_create`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSource {
    /// The source.
    pub source: LeadSourceFacts,
    /// `true` when it did not exist and was created now: the caller records that in the
    /// activity log of its unit of work.
    pub created: bool,
}

/// What other modules may ask of the lead sources without depending on the `sources` crate
/// (a connector's source is checked or created here).
#[async_trait::async_trait]
pub trait LeadSources: Send + Sync + 'static {
    /// One source of the tenant, `None` when the tenant has no such source.
    async fn get(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<LeadSourceFacts>>;
    /// The tenant's source named `name` whatever its case and spacing (the sources' name
    /// key), created active when missing. A name that cannot be a source's (empty, over 100
    /// characters) is a validation error on `name`.
    async fn find_or_create(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        name: &str,
        created_by: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<FoundSource>;
}
