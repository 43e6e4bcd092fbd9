//! The Opel-group category of contacts (the "Catégories" section of the contact form): the
//! contact's Opel segment and fleet code, validated, shown on the contact as
//! `extensions.opel`, and searchable (the fleet code is one of the contact's search terms).
//! Expert tier. Guarded by the contact's own permission object, `contacts`.

use forecourt_core::{App, Result, access::Tier, events::Event, module::Module, tenancy::TenantId};
use sea_orm::DatabaseTransaction;
use serde_json::json;
use uuid::Uuid;

pub mod api;
pub mod entities;
pub mod service;

pub use api::OpelApi;

/// The `opel` module.
pub struct OpelModule;

#[async_trait::async_trait]
impl Module<App> for OpelModule {
    fn id(&self) -> &'static str {
        "opel"
    }
    fn name(&self) -> &'static str {
        "Opel group category"
    }
    fn tiers(&self) -> &'static [Tier] {
        &[Tier::Expert]
    }
    fn depends_on(&self) -> &'static [&'static str] {
        // Categories hang on contacts and use the contacts' permission object.
        &["crm"]
    }
    fn api_prefixes(&self) -> &'static [&'static str] {
        &["/api/v1/contacts/*/opel"]
    }
    async fn on_event(&self, app: &App, txn: &DatabaseTransaction, event: &Event) -> Result<()> {
        if let Event::ContactsMerged {
            tenant_id,
            survivor,
            merged,
        } = event
            && service::merge_into(txn, &TenantId::new(*tenant_id), *survivor, merged).await?
        {
            // The survivor gained a fleet code: make it findable by it.
            app.ports
                .contacts
                .reindex(app, txn, *tenant_id, *survivor)
                .await?;
        }
        Ok(())
    }
    async fn contact_terms(
        &self,
        _app: &App,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<Vec<String>> {
        Ok(service::get(txn, &TenantId::new(tenant_id), contact_id)
            .await?
            .map(|m| vec![m.fleet_code])
            .unwrap_or_default())
    }
    async fn contact_extension(
        &self,
        _app: &App,
        db: sea_orm::DatabaseExecutor<'_>,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<Option<serde_json::Value>> {
        Ok(service::get(&db, &TenantId::new(tenant_id), contact_id)
            .await?
            .map(|m| json!({"segment": m.segment, "fleet_code": m.fleet_code})))
    }
}
