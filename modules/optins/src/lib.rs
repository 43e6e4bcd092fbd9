//! Marketing opt-ins: a contact's consent per channel (e-mail, SMS, phone, post, WhatsApp) and
//! per sender (one of the tenant's companies, or a brand), with who recorded it, when, where
//! it was collected and its proof. The history is append-only: a withdrawal is a new event.
//! Go and Expert tiers.

use forecourt_core::{
    App, Result,
    access::{Action, DefaultGrant, PermissionObject, Scope, Tier},
    events::Event,
    module::Module,
    tenancy::TenantId,
};
use sea_orm::DatabaseTransaction;

pub mod api;
pub mod entities;
pub mod service;

pub use api::OptinsApi;

/// The `optins` module.
pub struct OptinsModule;

#[async_trait::async_trait]
impl Module<App> for OptinsModule {
    fn id(&self) -> &'static str {
        "optins"
    }
    fn name(&self) -> &'static str {
        "Marketing opt-ins"
    }
    fn tiers(&self) -> &'static [Tier] {
        &[Tier::Go, Tier::Expert]
    }
    fn depends_on(&self) -> &'static [&'static str] {
        // Consents hang on contacts and are guarded per contact.
        &["crm"]
    }
    fn api_prefixes(&self) -> &'static [&'static str] {
        &["/api/v1/contacts/*/consents"]
    }
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[PermissionObject {
            name: api::OBJECT,
            description: "Contacts' marketing consents: read the state and history, record \
                          grants and withdrawals",
            // Recording consents implies reading them (write implies read in the enforcer).
            defaults: &[
                DefaultGrant {
                    role: "manager",
                    action: Action::Write,
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
            ],
        }]
    }
    async fn on_event(&self, _app: &App, txn: &DatabaseTransaction, event: &Event) -> Result<()> {
        // The history follows the survivor whole: no event is dropped or rewritten but its
        // contact.
        if let Event::ContactsMerged {
            tenant_id,
            survivor,
            merged,
        } = event
        {
            service::move_to_survivor(txn, &TenantId::new(*tenant_id), *survivor, merged).await?;
        }
        Ok(())
    }
}
