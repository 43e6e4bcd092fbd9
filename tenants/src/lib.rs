//! Tenancy: the operator, resellers, tenants, companies, establishments and users; licences
//! and module toggles; authentication; and the tenant admin's management of roles and grants.

use forecourt_core::{
    App,
    access::{Action, DefaultGrant, PermissionObject, Scope, Tier},
    module::Module,
};

pub mod admin;
pub mod auth;
pub mod directory;
pub mod entities;
pub mod fields;
pub mod pages;
pub mod password;
pub mod permissions;
pub mod platform;
pub mod readable;
pub mod tags;
pub mod teams;
pub mod users;

pub use directory::TenantDirectory;
pub use tags::Tags;

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

/// The platform module: always present, in every tier, cannot be switched off.
pub struct PlatformModule;

#[async_trait::async_trait]
impl Module<App> for PlatformModule {
    fn id(&self) -> &'static str {
        "platform"
    }
    fn name(&self) -> &'static str {
        "Platform"
    }
    fn tiers(&self) -> &'static [Tier] {
        &[Tier::Go, Tier::Expert]
    }
    fn can_be_disabled(&self) -> bool {
        false
    }
    fn api_prefixes(&self) -> &'static [&'static str] {
        &[]
    }
    fn mail_templates(&self) -> &'static [(&'static str, &'static str)] {
        forecourt_core::mail_templates!("account_exists", "password_reset")
    }
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[
            PermissionObject {
                name: "users",
                description: "Users of the tenant (own = oneself, establishment = colleagues of the site)",
                defaults: &[
                    DefaultGrant {
                        role: "manager",
                        action: Action::Read,
                        scope: Scope::Establishment,
                    },
                    DefaultGrant {
                        role: "salesperson",
                        action: Action::Read,
                        scope: Scope::Own,
                    },
                    DefaultGrant {
                        role: "receptionist",
                        action: Action::Read,
                        scope: Scope::Own,
                    },
                ],
            },
            PermissionObject {
                name: "permissions",
                description: "Roles and grants",
                defaults: &[],
            },
            PermissionObject {
                name: "companies",
                description: "The tenant's legal entities",
                defaults: READ_ALL,
            },
            PermissionObject {
                name: "establishments",
                description: "The tenant's sites",
                defaults: READ_ALL,
            },
            PermissionObject {
                name: "settings.modules",
                description: "Switching the tenant's modules on and off",
                defaults: &[DefaultGrant {
                    role: "manager",
                    action: Action::Read,
                    scope: Scope::Tenant,
                }],
            },
            PermissionObject {
                name: "settings.api_keys",
                description: "API keys for integrations",
                defaults: &[],
            },
            PermissionObject {
                name: "teams",
                description: "Teams of users (establishment = the teams of one's site, own = one's teams)",
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
                name: "activity",
                description: "The activity log",
                defaults: &[DefaultGrant {
                    role: "manager",
                    action: Action::Read,
                    scope: Scope::Tenant,
                }],
            },
        ]
    }
    fn activity_entities(&self) -> &'static [&'static str] {
        readable::ENTITIES
    }
    async fn readable(
        &self,
        app: &forecourt_core::App,
        user: &forecourt_core::context::TenantUser,
        entity_type: &str,
    ) -> forecourt_core::Result<forecourt_core::module::Readable> {
        readable::readable(app, user, entity_type).await
    }
}
