//! Tables owned by core. Generated-style entities, behaviour lives in the services.

pub mod activity_log;
pub mod authz_version;
pub mod casbin_rule;
pub mod mail_outbox;
pub mod permission_seed;
pub mod status_change;

crate::tenant_scoped!(
    activity_log,
    authz_version,
    casbin_rule,
    permission_seed,
    status_change
);
