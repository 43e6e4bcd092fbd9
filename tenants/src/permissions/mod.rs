//! Grants and roles as the tenant admin manages them, the rule that nobody grants beyond
//! their own tenant or above their own rights, and the default grants.

pub mod api;
pub mod defaults;
pub mod service;
pub mod views;

pub use api::PermissionsApi;
pub use defaults::{backfill_defaults, seed_defaults, seed_missing_data, seed_missing_defaults};
pub use service::{
    check_role_name, ensure_covers, ensure_covers_role, ensure_covers_user, known_roles,
};
pub use views::{GrantBody, ObjectView, RoleView};
