//! Statuses: each tenant's own statuses of opportunities and prospects (keys, labels in three
//! languages, order, kind, probability, colour, expiry exemption, the initial one), the
//! transitions between them and the policy that enforces them. Expert tier.
//!
//! Other modules never read these tables: they ask the `Statuses` port, which
//! [`TenantStatuses`] answers with the tenant's own set while the tenant has the module and
//! with the built-in machine otherwise. Every tenant receives the default sets once
//! ([`Module::default_sets`]), whatever its tier.

use forecourt_core::{
    App, Result,
    access::{Action, DefaultGrant, PermissionObject, Scope, Tier},
    module::{Module, Readable},
    ports::statuses::StatusEntity,
    tenancy::{TenantId, TenantScoped},
};
use sea_orm::DatabaseTransaction;
use statuses::entities::{policy, status};

pub mod machine;
pub mod port;
pub mod statuses;

pub use port::{MODULE_ID, TenantStatuses};
pub use statuses::api::StatusesApi;

/// Everyone reads the statuses (they label every opportunity); only admins change them.
const READ_ALL: &[DefaultGrant] = &[
    DefaultGrant {
        role: "manager",
        action: Action::Read,
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
];

/// The `statuses` module.
pub struct StatusesModule;

#[async_trait::async_trait]
impl Module<App> for StatusesModule {
    fn id(&self) -> &'static str {
        MODULE_ID
    }
    fn name(&self) -> &'static str {
        "Statuses and transitions"
    }
    fn tiers(&self) -> &'static [Tier] {
        &[Tier::Expert]
    }
    fn api_prefixes(&self) -> &'static [&'static str] {
        &["/api/v1/statuses"]
    }
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[PermissionObject {
            name: statuses::api::OBJECT,
            description: "The tenant's statuses, their transitions and the transition policy",
            defaults: READ_ALL,
        }]
    }
    fn default_sets(&self) -> &'static [&'static str] {
        &["opportunity", "prospect"]
    }
    async fn seed_default(
        &self,
        _app: &App,
        txn: &DatabaseTransaction,
        tenant: TenantId,
        set: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        match StatusEntity::parse(set) {
            Some(entity) => statuses::defaults::seed(txn, tenant, entity, now).await,
            None => Ok(()),
        }
    }
    fn activity_entities(&self) -> &'static [&'static str] {
        &["status", "status_policy"]
    }
    async fn readable(
        &self,
        app: &App,
        user: &forecourt_core::context::TenantUser,
        entity_type: &str,
    ) -> Result<Readable> {
        let object = statuses::api::OBJECT;
        match entity_type {
            "status" => {
                forecourt_core::activity::readable_if(
                    app,
                    user,
                    object,
                    status::Entity::scoped(user),
                    status::Column::Id,
                )
                .await
            }
            "status_policy" => {
                forecourt_core::activity::readable_if(
                    app,
                    user,
                    object,
                    policy::Entity::scoped(user),
                    policy::Column::Id,
                )
                .await
            }
            _ => Ok(Readable::Nothing),
        }
    }
}
