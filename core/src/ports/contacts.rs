//! What other modules may ask of the contact store (implemented by `crm`).

use crate::{Result, tenancy::Cx};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// What other modules may ask of the contact store without depending on the `crm` crate.
#[async_trait::async_trait]
pub trait ContactPort<A: Sync>: Send + Sync + 'static {
    /// Whether the contact exists in the context's tenant and the caller reaches it at the
    /// context's scope, with the same rules as the contact store's own reads (own, site,
    /// contacts kept to one company).
    async fn visible(
        &self,
        app: &A,
        txn: &DatabaseTransaction,
        cx: &Cx,
        contact_id: Uuid,
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
