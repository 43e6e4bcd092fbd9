//! The `expiry` tables.

/// A tenant setting document.
pub mod tenant_setting {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: Json,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

/// A job's claim on a tenant.
pub mod job_claim {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "job_claims")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub job: String,
        pub claimed_by: String,
        pub claimed_until: DateTimeUtc,
        pub last_run_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

forecourt_core::tenant_scoped!(tenant_setting, job_claim);
