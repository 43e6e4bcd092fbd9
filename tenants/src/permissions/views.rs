//! What the permissions endpoints take and answer.

use forecourt_core::{
    access::{Action, Scope},
    authz::Grant,
};
use poem_openapi::Object;

/// A grant: what a subject may do on an object, and how far.
#[derive(Object, Debug, Clone, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// `user:<id>` or `role:<name>`.
    #[oai(validator(max_length = 200))]
    pub subject: String,
    /// The permission object, e.g. `contacts`, `settings.sources` (see `/permissions/objects`).
    #[oai(validator(max_length = 200))]
    pub object: String,
    /// `read`, `write`, `delete` or `admin` (admin implies the others).
    pub action: Action,
    /// `own`, `establishment` or `tenant`.
    pub scope: Scope,
}

impl From<Grant> for GrantBody {
    fn from(g: Grant) -> Self {
        Self {
            subject: g.subject,
            object: g.object,
            action: g.action,
            scope: g.scope,
        }
    }
}

/// A role of the tenant.
#[derive(Object)]
pub struct RoleView {
    /// The role's name.
    pub name: String,
    /// Whether it is one of the built-in roles every tenant has.
    pub builtin: bool,
}

/// A permission object a module defines.
#[derive(Object)]
pub struct ObjectView {
    /// Its name, used in grants.
    pub object: String,
    /// The module that defines it.
    pub module: String,
    /// What it protects.
    pub description: String,
}
