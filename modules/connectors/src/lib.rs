//! Media connectors: partners (classified sites, lead routers, the dealer's website) push leads
//! as ADF/XML or as our JSON lead format; each prospect lands as a contact and an opportunity.
//! Expert tier.

use forecourt_core::{
    App, Result,
    access::{Action, DefaultGrant, PermissionObject, Scope, Tier},
    events::Event,
    module::Module,
};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, prelude::Expr};

pub mod adf;
pub mod api;
pub mod deliveries;
pub mod entities;
pub mod inbound;
pub mod lead;
pub mod service;
pub mod signature;

pub use api::{ConnectorsApi, InboundApi};
pub use service::ConnectorSources;

/// The module's id.
pub const MODULE_ID: &str = "connectors";

/// The `connectors` module.
pub struct ConnectorsModule;

#[async_trait::async_trait]
impl Module<App> for ConnectorsModule {
    fn id(&self) -> &'static str {
        MODULE_ID
    }
    fn name(&self) -> &'static str {
        "Media connectors"
    }
    fn tiers(&self) -> &'static [Tier] {
        &[Tier::Expert]
    }
    fn depends_on(&self) -> &'static [&'static str] {
        &["crm", "sources"]
    }
    // The inbound endpoint (`/inbound/{id}/leads`) is not listed: it has no bearer token, so
    // the host's gate never sees a tenant there; it checks the licence itself once the
    // signature names the tenant.
    fn api_prefixes(&self) -> &'static [&'static str] {
        &["/api/v1/connectors"]
    }
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[PermissionObject {
            name: "settings.connectors",
            description: "Partners' connectors: configuration, secrets and the delivery log",
            defaults: &[DefaultGrant {
                role: "manager",
                action: Action::Read,
                scope: Scope::Tenant,
            }],
        }]
    }
    fn activity_entities(&self) -> &'static [&'static str] {
        &["connector"]
    }
    async fn readable(
        &self,
        app: &App,
        user: &forecourt_core::context::TenantUser,
        _entity_type: &str,
    ) -> Result<forecourt_core::module::Readable> {
        forecourt_core::activity::readable_if(
            app,
            user,
            "settings.connectors",
            service::scoped(user.tenant_id),
            entities::connector::Column::Id,
        )
        .await
    }
    async fn on_event(&self, _app: &App, txn: &DatabaseTransaction, event: &Event) -> Result<()> {
        // A duplicate delivery answers the contact its lead landed on: follow merges.
        if let Event::ContactsMerged {
            tenant_id,
            survivor,
            merged,
        } = event
        {
            use entities::connector_lead;
            connector_lead::Entity::update_many()
                .col_expr(connector_lead::Column::ContactId, Expr::value(*survivor))
                .filter(connector_lead::Column::TenantId.eq(*tenant_id))
                .filter(connector_lead::Column::ContactId.is_in(merged.iter().copied()))
                .exec(txn)
                .await?;
        }
        Ok(())
    }
}
