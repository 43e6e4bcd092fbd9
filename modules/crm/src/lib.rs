//! The CRM, in both tiers: contacts (with duplicates and merge), search across contacts,
//! opportunities and vehicles, the lead page of an opportunity (actions and documents),
//! vehicles, the intake of partners' leads, and the expiry rule of open opportunities.
//!
//! One folder per resource: `contacts/`, `opportunities/`, `lead_page/`, `vehicles/`,
//! `intake/`, `expiry/`, `tasks/` (the tenant-wide tasks list), with `search/` above them (it
//! reads all three, none reads it) and
//! `report/` answering the lead-source report's port. Other modules reach the CRM only
//! through core's ports, which it implements here and in `intake/` and `report/`.

use forecourt_core::{
    App, Result,
    access::{Action, DefaultGrant, PermissionObject, Scope, Tier},
    context::TenantUser,
    module::Module,
    module::Readable,
    ports::{
        contacts::ContactPort,
        statuses::{StatusEntity, StatusHolders},
    },
    tenancy::{Cx, TenantId},
};
use sea_orm::{DatabaseExecutor, DatabaseTransaction, QueryFilter};
use uuid::Uuid;

/// The tables of this crate have no sea-orm relations: joins are written where they are used.
macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod contacts;
pub mod expiry;
pub mod intake;
pub mod lead_page;
pub mod opportunities;
pub mod report;
pub mod search;
pub mod tasks;
pub mod vehicles;

pub use contacts::api::ContactsApi;
pub use contacts::service::ContactTeams;
pub use expiry::api::CrmSettingsApi;
pub use intake::service::Leads;
pub use lead_page::api::{DocumentsApi, LeadPageApi};
pub use opportunities::{
    api::OpportunitiesApi, assignment::OpportunityTeams, service::OpportunitySources,
};
pub use report::{api::ReportsApi, lead_sources::OpportunityReports};
pub use search::api::SearchApi;
pub use tasks::api::TasksApi;
pub use vehicles::api::VehiclesApi;

/// The `crm` module.
pub struct CrmModule;

#[async_trait::async_trait]
impl Module<App> for CrmModule {
    fn id(&self) -> &'static str {
        "crm"
    }
    fn name(&self) -> &'static str {
        "CRM"
    }
    fn tiers(&self) -> &'static [Tier] {
        &[Tier::Go, Tier::Expert]
    }
    fn api_prefixes(&self) -> &'static [&'static str] {
        &[
            "/api/v1/contacts",
            "/api/v1/search",
            "/api/v1/opportunities",
            "/api/v1/vehicles",
            "/api/v1/settings/expiry",
            "/api/v1/reports/pipeline",
            "/api/v1/tasks",
        ]
    }
    fn upload_paths(&self) -> &'static [&'static str] {
        &["/api/v1/opportunities/*/documents"]
    }
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[
            PermissionObject {
                name: "contacts",
                description: "Contacts (own = assigned to the user, establishment = of the user's site)",
                defaults: &[
                    DefaultGrant {
                        role: "manager",
                        action: Action::Read,
                        scope: Scope::Tenant,
                    },
                    DefaultGrant {
                        role: "manager",
                        action: Action::Write,
                        scope: Scope::Establishment,
                    },
                    DefaultGrant {
                        role: "manager",
                        action: Action::Delete,
                        scope: Scope::Establishment,
                    },
                    DefaultGrant {
                        role: "salesperson",
                        action: Action::Read,
                        scope: Scope::Tenant,
                    },
                    DefaultGrant {
                        role: "salesperson",
                        action: Action::Write,
                        scope: Scope::Own,
                    },
                    DefaultGrant {
                        role: "receptionist",
                        action: Action::Read,
                        scope: Scope::Tenant,
                    },
                    DefaultGrant {
                        role: "receptionist",
                        action: Action::Write,
                        scope: Scope::Own,
                    },
                ],
            },
            PermissionObject {
                name: "opportunities",
                description: "Opportunities and their lead page (own = assigned to the user, establishment = of the user's site)",
                defaults: &[
                    DefaultGrant {
                        role: "manager",
                        action: Action::Write,
                        scope: Scope::Establishment,
                    },
                    DefaultGrant {
                        role: "salesperson",
                        action: Action::Write,
                        scope: Scope::Own,
                    },
                    DefaultGrant {
                        role: "receptionist",
                        action: Action::Read,
                        scope: Scope::Establishment,
                    },
                ],
            },
            PermissionObject {
                name: "opportunities.actions",
                description: "Correcting and withdrawing the offers, trade-ins, test drives and comments others added to an opportunity's lead page (their authors always may)",
                defaults: &[DefaultGrant {
                    role: "manager",
                    action: Action::Write,
                    scope: Scope::Establishment,
                }],
            },
            PermissionObject {
                name: "opportunities.expired",
                description: "Seeing the system's `expired` flag on opportunities (nobody can set it)",
                defaults: &[],
            },
            PermissionObject {
                name: "contacts.blocked",
                description: "Blocking and unblocking contacts (a blocked contact cannot be linked to an opportunity); writing a contact is not enough",
                defaults: &[],
            },
            PermissionObject {
                name: "vehicles",
                description: "Stock vehicles",
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
            },
            PermissionObject {
                name: "settings.expiry",
                description: "The opportunity expiry rule",
                defaults: &[DefaultGrant {
                    role: "manager",
                    action: Action::Read,
                    scope: Scope::Tenant,
                }],
            },
        ]
    }
    fn mail_templates(&self) -> &'static [(&'static str, &'static str)] {
        forecourt_core::mail_templates!("assignment", "purchase_order")
    }
    fn activity_entities(&self) -> &'static [&'static str] {
        &["contact", "opportunity", "vehicle", "settings"]
    }
    async fn readable(&self, app: &App, user: &TenantUser, entity_type: &str) -> Result<Readable> {
        let object = match entity_type {
            "contact" => "contacts",
            "opportunity" => "opportunities",
            "vehicle" => "vehicles",
            "settings" => "settings.expiry",
            _ => return Ok(Readable::Nothing),
        };
        let Some(scope) = app.authz.scope(user, object, Action::Read).await? else {
            return Ok(Readable::Nothing);
        };
        Ok(match entity_type {
            "contact" => {
                let company = contacts::service::user_company(app, &app.db, user, scope).await?;
                Readable::ids(
                    contacts::service::scoped(user)
                        .filter(contacts::service::visibility(user, scope, company)),
                    contacts::entities::contact::Column::Id,
                )
            }
            "opportunity" => Readable::ids(
                opportunities::service::readable(user, scope),
                opportunities::entities::opportunity::Column::Id,
            ),
            "vehicle" => Readable::ids(
                <vehicles::entities::vehicle::Entity as forecourt_core::tenancy::TenantScoped>::scoped(user),
                vehicles::entities::vehicle::Column::Id,
            ),
            _ => Readable::All,
        })
    }
    async fn on_event(
        &self,
        _app: &App,
        txn: &DatabaseTransaction,
        event: &forecourt_core::events::Event,
    ) -> Result<()> {
        if let forecourt_core::events::Event::ContactsMerged {
            tenant_id,
            survivor,
            merged,
        } = event
        {
            let tenant = forecourt_core::tenancy::TenantId::new(*tenant_id);
            opportunities::links::move_links(txn, tenant, *survivor, merged).await?;
        }
        Ok(())
    }
}

/// The contact store as other modules see it.
pub struct Contacts;

#[async_trait::async_trait]
impl ContactPort<App> for Contacts {
    async fn visible(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        cx: &Cx,
        contact_id: Uuid,
    ) -> Result<bool> {
        let found = contacts::service::find_visible(app, txn, cx, contact_id).await?;
        Ok(found.is_some())
    }

    async fn reindex(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<()> {
        contacts::service::reindex(app, txn, &TenantId::new(tenant_id), contact_id).await
    }

    async fn changed(&self, app: &App, tenant_id: Uuid) {
        contacts::service::searches_changed(app, &TenantId::new(tenant_id)).await;
    }
}

/// The CRM's records that carry a status (opportunities; prospects), as the `statuses` module
/// asks about them when a status is archived.
pub struct StatusRecords;

#[async_trait::async_trait]
impl StatusHolders<App> for StatusRecords {
    async fn count_in(
        &self,
        _app: &App,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        entity: StatusEntity,
        key: &str,
    ) -> Result<u64> {
        match entity {
            StatusEntity::Opportunity => {
                opportunities::status::count_in_status(&db, &tenant, key).await
            }
            StatusEntity::Prospect => contacts::service::count_in_status(&db, &tenant, key).await,
        }
    }

    async fn reassign(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        tenant: TenantId,
        entity: StatusEntity,
        from: &str,
        to: &str,
        actor: Option<Uuid>,
    ) -> Result<u64> {
        match entity {
            StatusEntity::Opportunity => {
                opportunities::status::reassign_status(app, txn, &tenant, (from, to), actor).await
            }
            StatusEntity::Prospect => {
                contacts::service::reassign_status(app, txn, &tenant, (from, to), actor).await
            }
        }
    }
}
