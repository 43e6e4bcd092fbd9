//! The `lead_page` tables.

/// An action of the lead page.
pub mod opportunity_action {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunity_actions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub opportunity_id: Uuid,
        pub kind: String,
        pub data: Json,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

forecourt_core::tenant_scoped!(opportunity_action);
