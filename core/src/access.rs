//! The vocabulary of permissions and licences that every module shares: tiers, actions,
//! scopes and the permission objects a module declares.

use serde::{Deserialize, Serialize};

/// A licence tier. Each module declares the tiers that include it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Tier {
    /// The entry tier: CRM essentials.
    Go,
    /// Every module.
    Expert,
}

impl Tier {
    /// The tier's key as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Go => "go",
            Tier::Expert => "expert",
        }
    }

    /// Parses a stored key.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "go" => Some(Tier::Go),
            "expert" => Some(Tier::Expert),
            _ => None,
        }
    }
}

/// An action a grant allows. `admin` implies the others on the same object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Action {
    /// See records.
    Read,
    /// Create and change records.
    Write,
    /// Delete records.
    Delete,
    /// Everything on the object, including settings.
    Admin,
}

impl Action {
    /// The action's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Admin => "admin",
        }
    }
    /// Parses a key.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Action::Read),
            "write" => Some(Action::Write),
            "delete" => Some(Action::Delete),
            "admin" => Some(Action::Admin),
            _ => None,
        }
    }
}

/// How far a grant reaches. Ordered: `Own < Establishment < Tenant`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Scope {
    /// Records the user owns (or the user themself).
    Own,
    /// Records of the user's establishment.
    Establishment,
    /// Every record of the tenant.
    Tenant,
}

impl Scope {
    /// The scope's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Establishment => "establishment",
            Scope::Tenant => "tenant",
        }
    }
    /// Parses a key.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "own" => Some(Scope::Own),
            "establishment" => Some(Scope::Establishment),
            "tenant" => Some(Scope::Tenant),
            _ => None,
        }
    }
}

/// The built-in roles every tenant starts with.
pub const BUILTIN_ROLES: &[&str] = &["admin", "manager", "salesperson", "receptionist"];

/// A grant given to a built-in role when a tenant is created.
#[derive(Debug, Clone, Copy)]
pub struct DefaultGrant {
    /// Built-in role name.
    pub role: &'static str,
    /// Granted action.
    pub action: Action,
    /// Granted scope.
    pub scope: Scope,
}

/// A permission object a module defines (e.g. `settings.sources`), with its default grants.
/// The `admin` role always receives `admin` at tenant scope on every object.
#[derive(Debug, Clone, Copy)]
pub struct PermissionObject {
    /// The object's name, used in grants.
    pub name: &'static str,
    /// What it protects, shown to the tenant admin.
    pub description: &'static str,
    /// Grants given to the non-admin built-in roles.
    pub defaults: &'static [DefaultGrant],
}
