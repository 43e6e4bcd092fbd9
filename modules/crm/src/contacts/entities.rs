//! The `contacts` tables.

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
        pub prospect_status: Option<String>,
        pub assigned_user_id: Option<Uuid>,
        pub assigned_team_id: Option<Uuid>,
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

forecourt_core::tenant_scoped!(
    contact,
    contact_email,
    contact_phone,
    contact_group,
    contact_address,
    contact_term
);
forecourt_core::versioned!(contact);
