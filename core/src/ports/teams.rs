//! Teams as other modules see them (owned by `tenants`).

use crate::Result;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// Records of one module assigned to a team, counted for the `tenants` crate, which owns teams
/// but not what is assigned to them (crm's contacts and opportunities). Before deleting a team
/// it asks every implementation, so a team in use is refused with a 409 naming its users
/// (`team_in_use`) instead of tripping a foreign key or silently unassigning records, which
/// would take them out of the members' `own` reach.
#[async_trait::async_trait]
pub trait TeamUsers: Send + Sync + 'static {
    /// The kind of record counted, as named in the problem's `used_by` (`contacts`).
    fn kind(&self) -> &'static str;
    /// How many of the tenant's records are assigned to `team_id`, read inside the caller's
    /// transaction (the one that would delete the team).
    async fn count(&self, txn: &DatabaseTransaction, tenant_id: Uuid, team_id: Uuid)
    -> Result<u64>;
}
