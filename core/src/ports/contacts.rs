//! What other modules may ask of the contact store (implemented by `crm`).

use crate::{Result, access::Scope, context::TenantUser};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// What other modules may ask of the contact store without depending on the `crm` crate.
#[async_trait::async_trait]
pub trait ContactPort<A: Sync>: Send + Sync + 'static {
    /// Whether the contact exists in the tenant and lies within `scope` for `user` (own =
    /// assigned to the user, establishment = assigned within the user's establishment).
    async fn visible(
        &self,
        txn: &DatabaseTransaction,
        user: &TenantUser,
        contact_id: Uuid,
        scope: Scope,
    ) -> Result<bool>;
    /// Rebuilds a contact's search terms (after a module changed what it contributes), inside
    /// the caller's transaction. Call [`ContactPort::changed`] once it has committed.
    async fn reindex(
        &self,
        app: &A,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<()>;
    /// Tells the contact store that the tenant's contacts changed in a transaction that has
    /// now committed: its cached searches go stale. Called after the commit, never before, so
    /// a search running in between cannot be cached without the change.
    async fn changed(&self, app: &A, tenant_id: Uuid);
}
