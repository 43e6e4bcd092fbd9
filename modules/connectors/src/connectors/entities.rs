//! The connectors table (migration `m0008_connectors`).

/// A partner's connector: where its leads land and the secret that signs them.
pub mod connector {
    use sea_orm::entity::prelude::*;

    /// A connector of a tenant.
    #[derive(Clone, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "connectors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub partner: String,
        pub name: String,
        pub establishment_id: Option<Uuid>,
        pub source_id: Option<Uuid>,
        pub enabled: bool,
        /// `whsec_<base64>`, kept as given: the HMAC key must be read back to verify.
        pub secret: String,
        pub previous_secret: Option<String>,
        pub previous_secret_until: Option<DateTimeUtc>,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    // By hand, so the secrets never reach a log line.
    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Connector")
                .field("tenant_id", &self.tenant_id)
                .field("id", &self.id)
                .field("partner", &self.partner)
                .field("name", &self.name)
                .field("enabled", &self.enabled)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

forecourt_core::tenant_scoped!(connector);
