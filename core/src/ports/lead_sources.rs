//! Lead sources as other modules see them (owned by `sources`).

use crate::Result;
use sea_orm::DatabaseTransaction;
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
