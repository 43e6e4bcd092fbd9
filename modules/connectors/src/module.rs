//! The `connectors` module as the host sees it: tier, permissions, activity, events.

use crate::{connectors::entities::connector, inbound::entities::connector_lead};
use forecourt_core::{
    App, Result,
    access::{Action, DefaultGrant, PermissionObject, Scope, Tier},
    context::TenantUser,
    events::Event,
    module::{Module, Readable},
    tenancy::{TenantId, TenantScoped},
};
use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter, prelude::Expr};

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
    async fn readable(&self, app: &App, user: &TenantUser, _entity_type: &str) -> Result<Readable> {
        forecourt_core::activity::readable_if(
            app,
            user,
            "settings.connectors",
            connector::Entity::scoped(user),
            connector::Column::Id,
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
            connector_lead::Entity::update_in(&TenantId::new(*tenant_id))
                .col_expr(connector_lead::Column::ContactId, Expr::value(*survivor))
                .filter(connector_lead::Column::ContactId.is_in(merged.iter().copied()))
                .exec(txn)
                .await?;
        }
        Ok(())
    }
}
