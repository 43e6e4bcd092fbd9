//! The category table (created by the `m0004_contacts` migration): at most one row per contact.

/// A contact's Opel-group category.
pub mod category {
    use sea_orm::entity::prelude::*;

    /// The Opel segment and fleet code of one contact.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_opel")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: Uuid,
        /// The segment's key (`private`, `fleet`, ...).
        pub segment: String,
        /// The fleet code, normalised (upper case).
        pub fleet_code: String,
        pub updated_by: Option<Uuid>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

forecourt_core::tenant_scoped!(category);
