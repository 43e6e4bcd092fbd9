//! The `opportunities` tables.

/// A sales opportunity (lead).
pub mod opportunity {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub status: String,
        pub lost_reason: Option<String>,
        pub customer_info: Option<String>,
        pub source_id: Option<Uuid>,
        pub assigned_user_id: Option<Uuid>,
        pub assigned_team_id: Option<Uuid>,
        pub establishment_id: Option<Uuid>,
        pub expired: bool,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
        pub version: i32,
    }
    no_relations!();
}

/// A contact linked to an opportunity, with its role.
pub mod opportunity_contact {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunity_contacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub opportunity_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: Uuid,
        pub role: Option<String>,
        pub position: i32,
    }
    no_relations!();
}

/// A vehicle of interest of an opportunity.
pub mod opportunity_vehicle {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunity_vehicles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub opportunity_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub vehicle_id: Uuid,
        pub position: i32,
    }
    no_relations!();
}

forecourt_core::tenant_scoped!(opportunity, opportunity_contact, opportunity_vehicle);
forecourt_core::versioned!(opportunity);
