//! Contacts (the `crm` module), their consents (`optins`) and Opel category (`opel`).

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_contacts"
    }
}

/// A child table of contacts keyed by `(tenant_id, contact_id, <value>)`.
fn contact_values(table: &'static str, value: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(uuid("tenant_id"))
        .col(uuid("contact_id"))
        .col(text(value))
        .col(ColumnDef::new("position").integer().not_null())
        .primary_key(
            Index::create()
                .col("tenant_id")
                .col("contact_id")
                .col(value),
        )
        .foreign_key(&mut tenant_fk_cascade(table, "contact_id", "contacts"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("contacts")
                .col(text("kind"))
                .col(text_null("title"))
                .col(text_null("first_name"))
                .col(text_null("last_name"))
                .col(text_null("company_name"))
                .col(text("display_name"))
                .col(text_null("national_number"))
                .col(ColumnDef::new("vat_rate").double().null())
                .col(text_null("vat_number"))
                .col(text_null("position"))
                .col(uuid_null("employer_id"))
                .col(ColumnDef::new("birth_date").date().null())
                .col(ColumnDef::new("comments").text().null())
                .col(ColumnDef::new("blocked").boolean().not_null())
                .col(text("lifecycle"))
                .col(uuid_null("assigned_user_id"))
                .col(uuid_null("establishment_id"))
                .col(uuid_null("company_id"))
                .col(uuid_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ColumnDef::new("version").integer().not_null())
                .foreign_key(&mut tenant_fk("contacts", "employer_id", "contacts"))
                .foreign_key(&mut tenant_fk("contacts", "assigned_user_id", "users"))
                .foreign_key(&mut tenant_fk(
                    "contacts",
                    "establishment_id",
                    "establishments",
                ))
                .foreign_key(&mut tenant_fk("contacts", "company_id", "companies"))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("contacts_assigned", &["assigned_user_id"][..]),
            ("contacts_establishment", &["establishment_id"]),
            ("contacts_employer", &["employer_id"]),
            ("contacts_display", &["display_name"]),
            ("contacts_national", &["national_number"]),
            ("contacts_vat", &["vat_number"]),
        ] {
            m.create_index(tenant_index("contacts", name, cols, false))
                .await?;
        }
        m.create_table(contact_values("contact_emails", "email"))
            .await?;
        m.create_index(tenant_index(
            "contact_emails",
            "contact_emails_email",
            &["email"],
            false,
        ))
        .await?;
        m.create_table(contact_values("contact_phones", "phone"))
            .await?;
        m.create_index(tenant_index(
            "contact_phones",
            "contact_phones_phone",
            &["phone"],
            false,
        ))
        .await?;
        m.create_table(contact_values("contact_groups", "name"))
            .await?;
        m.create_index(tenant_index(
            "contact_groups",
            "contact_groups_name",
            &["name"],
            false,
        ))
        .await?;
        m.create_table(
            tenant_table("contact_addresses")
                .col(uuid("contact_id"))
                .col(text("kind"))
                .col(ColumnDef::new("is_default").boolean().not_null())
                .col(text("street"))
                .col(text("postal_code"))
                .col(text("city"))
                .col(text("country"))
                .col(ColumnDef::new("position").integer().not_null())
                .foreign_key(&mut tenant_fk_cascade(
                    "contact_addresses",
                    "contact_id",
                    "contacts",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "contact_addresses",
            "contact_addresses_contact",
            &["contact_id"],
            false,
        ))
        .await?;
        // The search index: normalised terms (accent- and case-free words, phone and number
        // variants) per contact. Prefix search is a range scan on (tenant_id, term) on both
        // backends: never a scan of the tenant.
        // Byte order on PostgreSQL too, so `term >= 'ger' AND term < 'ger{'` is an index range.
        let mut term = text("term");
        if m.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            term.extra("COLLATE \"C\"");
        }
        m.create_table(
            Table::create()
                .table("contact_terms")
                .col(uuid("tenant_id"))
                .col(term)
                .col(uuid("contact_id"))
                .col(ColumnDef::new("weight").integer().not_null())
                .primary_key(
                    Index::create()
                        .col("tenant_id")
                        .col("term")
                        .col("contact_id"),
                )
                .foreign_key(&mut tenant_fk_cascade(
                    "contact_terms",
                    "contact_id",
                    "contacts",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "contact_terms",
            "contact_terms_contact",
            &["contact_id"],
            false,
        ))
        .await?;
        // optins: append-only consent events.
        m.create_table(
            tenant_table("contact_consents")
                .col(uuid("contact_id"))
                .col(text("channel"))
                .col(text("sender"))
                .col(ColumnDef::new("granted").boolean().not_null())
                .col(text("source"))
                .col(ColumnDef::new("proof").text().null())
                .col(uuid_null("actor_user_id"))
                .col(ts("at"))
                .foreign_key(&mut tenant_fk_cascade(
                    "contact_consents",
                    "contact_id",
                    "contacts",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "contact_consents",
            "contact_consents_contact",
            &["contact_id", "at"],
            false,
        ))
        .await?;
        // opel: one category per contact.
        m.create_table(
            Table::create()
                .table("contact_opel")
                .col(uuid("tenant_id"))
                .col(uuid("contact_id"))
                .col(text("segment"))
                .col(text("fleet_code"))
                .col(uuid_null("updated_by"))
                .col(ts("updated_at"))
                .primary_key(Index::create().col("tenant_id").col("contact_id"))
                .foreign_key(&mut tenant_fk_cascade(
                    "contact_opel",
                    "contact_id",
                    "contacts",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "contact_opel",
            "contact_opel_fleet",
            &["fleet_code"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "contact_opel",
            "contact_consents",
            "contact_terms",
            "contact_addresses",
            "contact_groups",
            "contact_phones",
            "contact_emails",
            "contacts",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
