//! Connectors as users of lead sources ([`LeadSourceUsers`]).

use super::entities::connector;
use forecourt_core::{
    Result, ports::lead_sources::LeadSourceUsers, tenancy::TenantId, tenancy::TenantScoped,
};
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

/// The source a connector gives its leads cannot be deleted while the connector points at it.
pub struct ConnectorSources;

#[async_trait::async_trait]
impl LeadSourceUsers for ConnectorSources {
    fn kind(&self) -> &'static str {
        "connectors"
    }

    async fn count(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant_id: Uuid,
        source_id: Uuid,
    ) -> Result<u64> {
        Ok(connector::Entity::scoped(&TenantId::new(tenant_id))
            .filter(connector::Column::SourceId.eq(source_id))
            .count(txn)
            .await?)
    }
}
