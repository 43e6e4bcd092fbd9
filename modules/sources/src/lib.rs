//! Lead sources: where a tenant's leads come from (showroom, website, media platforms...).
//! Expert tier. One folder per resource: `lead_sources/` (the sources, and the `LeadSources`
//! port other modules ask) and `report/` (the lead-source report, counted by the CRM behind
//! the `OpportunityFacts` port and named here).

use forecourt_core::{
    App, Result,
    access::{Action, DefaultGrant, PermissionObject, Scope, Tier},
    events::Event,
    module::Module,
    tenancy::{TenantId, TenantScoped},
};
use lead_sources::entities::lead_source;
use poem_openapi::{
    OpenApi,
    registry::{MetaApi, Registry},
};
use sea_orm::DatabaseTransaction;

pub mod lead_sources;
pub mod report;

pub use lead_sources::port::Sources;

/// Every endpoint of the module: the sources and their report, one API for the host.
pub struct SourcesApi;

type Apis = (
    lead_sources::api::LeadSourcesApi,
    report::api::LeadSourceReportApi,
);

impl OpenApi for SourcesApi {
    fn meta() -> Vec<MetaApi> {
        Apis::meta()
    }

    fn register(registry: &mut Registry) {
        Apis::register(registry);
    }

    fn add_routes(
        self,
        route_table: &mut std::collections::HashMap<
            String,
            std::collections::HashMap<poem::http::Method, poem::endpoint::BoxEndpoint<'static>>,
        >,
    ) {
        (
            lead_sources::api::LeadSourcesApi,
            report::api::LeadSourceReportApi,
        )
            .add_routes(route_table);
    }
}

/// The `sources` module.
pub struct SourcesModule;

/// Sources every new tenant starts with.
pub const DEFAULT_SOURCES: &[&str] = &["Showroom", "Website", "Phone"];

#[async_trait::async_trait]
impl Module<App> for SourcesModule {
    fn id(&self) -> &'static str {
        "sources"
    }
    fn name(&self) -> &'static str {
        "Lead sources"
    }
    fn tiers(&self) -> &'static [Tier] {
        &[Tier::Expert]
    }
    fn api_prefixes(&self) -> &'static [&'static str] {
        &["/api/v1/lead-sources", "/api/v1/reports/lead-sources"]
    }
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[PermissionObject {
            name: "settings.sources",
            description: "The tenant's lead sources and the lead-source reports",
            defaults: &[
                DefaultGrant {
                    role: "manager",
                    action: Action::Write,
                    scope: Scope::Tenant,
                },
                DefaultGrant {
                    role: "salesperson",
                    action: Action::Read,
                    scope: Scope::Tenant,
                },
                DefaultGrant {
                    role: "receptionist",
                    action: Action::Read,
                    scope: Scope::Tenant,
                },
            ],
        }]
    }
    fn activity_entities(&self) -> &'static [&'static str] {
        &["lead_source"]
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
            "settings.sources",
            lead_source::Entity::scoped(user),
            lead_source::Column::Id,
        )
        .await
    }
    async fn on_event(&self, app: &App, txn: &DatabaseTransaction, event: &Event) -> Result<()> {
        // Seeded whatever the tier, so a tenant that moves up to Expert finds them ready.
        if let Event::TenantCreated { tenant_id, .. } = event {
            for name in DEFAULT_SOURCES {
                lead_sources::service::insert(
                    txn,
                    TenantId::new(*tenant_id),
                    None,
                    name,
                    app.clock.now(),
                )
                .await?;
            }
        }
        Ok(())
    }
}
