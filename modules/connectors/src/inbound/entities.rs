//! The idempotency keys of landed leads (migration `m0008_connectors`).

/// The idempotency key of a lead a connector landed.
pub mod connector_lead {
    use sea_orm::entity::prelude::*;

    /// A landed lead.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "connector_leads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub connector_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub lead_key: String,
        pub delivery_id: Uuid,
        pub contact_id: Option<Uuid>,
        pub opportunity_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

forecourt_core::tenant_scoped!(connector_lead);
