//! The consent event table (created by the `m0004_contacts` migration).

/// One consent event: a grant or a withdrawal, never changed once written.
pub mod consent {
    use sea_orm::entity::prelude::*;

    /// A contact's consent (or withdrawal) for one channel and sender, at one instant.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub contact_id: Uuid,
        /// The channel's key (`email`, `sms`, ...).
        pub channel: String,
        /// A company id of the tenant (as text) or a brand name.
        pub sender: String,
        pub granted: bool,
        /// Where the consent was collected.
        pub source: String,
        pub proof: Option<String>,
        /// The user who recorded it; `None` when the platform did (e.g. an import).
        pub actor_user_id: Option<Uuid>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

forecourt_core::tenant_scoped!(consent);
