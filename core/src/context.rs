//! Who is calling. The principal is resolved once per request from the bearer credential and
//! is the only source of the tenant: never a path, a query or a body.

use uuid::Uuid;

/// A user of a tenant (or an API key acting as one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUser {
    /// The tenant: every query of the request is scoped to it.
    pub tenant_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// The user's establishment, for `establishment`-scoped grants.
    pub establishment_id: Option<Uuid>,
    /// The teams the user belongs to, in id order: the `own` scope also reaches the records
    /// assigned to one of them. Resolved with the principal, so a membership change is
    /// announced like any other change to the user.
    pub team_ids: Vec<Uuid>,
}

impl TenantUser {
    /// Whether the user belongs to `team`.
    pub fn in_team(&self, team: Uuid) -> bool {
        self.team_ids.binary_search(&team).is_ok()
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The platform owner.
    Operator {
        /// The operator account.
        user_id: Uuid,
    },
    /// A reseller's user: manages the tenants it onboarded, never their CRM data.
    Reseller {
        /// The reseller.
        reseller_id: Uuid,
        /// The reseller's user.
        user_id: Uuid,
    },
    /// A tenant's user.
    Tenant(TenantUser),
}

impl Principal {
    /// The tenant of a tenant user.
    pub fn tenant(&self) -> Option<&TenantUser> {
        match self {
            Principal::Tenant(t) => Some(t),
            _ => None,
        }
    }
}

/// The principal plus the credential it came from (so logout can revoke exactly that one).
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// SHA-256 of the bearer credential.
    pub token_hash: String,
    /// Whether the credential is an API key (API keys cannot log out or manage keys).
    pub via_api_key: bool,
}

/// What the host needs to know about a tenant on every request, cached.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TenantInfo {
    /// The tenant.
    pub id: Uuid,
    /// Licence tier.
    pub tier: crate::access::Tier,
    /// Suspended tenants' users get 403 `tenant_suspended`.
    pub suspended: bool,
    /// Modules the tenant admin switched off.
    pub disabled_modules: Vec<String>,
    /// Default country (ISO 3166 alpha-2) for phone numbers and addresses.
    pub country: String,
    /// Default language (`fr`, `nl`, `en`).
    pub language: String,
    /// The company of each of the tenant's establishments: decides which company-kept
    /// contacts a user below tenant scope sees, on every such read.
    pub sites: std::collections::BTreeMap<Uuid, Uuid>,
}

impl TenantInfo {
    /// The company an establishment of the tenant belongs to.
    pub fn company_of(&self, establishment_id: Uuid) -> Option<Uuid> {
        self.sites.get(&establishment_id).copied()
    }
}
