//! The contact tables.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

/// A person or company.
pub mod contact {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: String,
        pub title: Option<String>,
        pub first_name: Option<String>,
        pub last_name: Option<String>,
        pub company_name: Option<String>,
        pub display_name: String,
        pub national_number: Option<String>,
        pub vat_rate: Option<f64>,
        pub vat_number: Option<String>,
        pub position: Option<String>,
        pub language: Option<String>,
        pub employer_id: Option<Uuid>,
        pub birth_date: Option<Date>,
        pub comments: Option<String>,
        pub blocked: bool,
        pub lifecycle: String,
        pub assigned_user_id: Option<Uuid>,
        pub establishment_id: Option<Uuid>,
        pub company_id: Option<Uuid>,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i32,
    }
    no_relations!();
}

/// A contact's email (lower-cased).
pub mod contact_email {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_emails")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub email: String,
        pub position: i32,
    }
    no_relations!();
}

/// A contact's phone (E.164).
pub mod contact_phone {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_phones")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub phone: String,
        pub position: i32,
    }
    no_relations!();
}

/// A contact group membership.
pub mod contact_group {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub position: i32,
    }
    no_relations!();
}

/// A typed postal address.
pub mod contact_address {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_addresses")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub contact_id: Uuid,
        pub kind: String,
        pub is_default: bool,
        pub street: String,
        pub postal_code: String,
        pub city: String,
        pub country: String,
        pub position: i32,
    }
    no_relations!();
}

/// A search term of a contact.
pub mod contact_term {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_terms")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub term: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: Uuid,
        pub weight: i32,
        /// The module that contributed the term; empty for the contact's own fields.
        pub module: String,
    }
    no_relations!();
}

/// A stock vehicle.
pub mod vehicle {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "vehicles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub vin: String,
        pub make: String,
        pub model: String,
        pub version: Option<String>,
        pub year: i32,
        pub mileage_km: Option<i32>,
        pub price_cents: i64,
        pub status: String,
        pub establishment_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

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
