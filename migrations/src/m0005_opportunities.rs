//! Stock vehicles, opportunities and their links, tenant settings, and job claims.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_opportunities"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("vehicles")
                .col(text("vin"))
                .col(text("make"))
                .col(text("model"))
                .col(text_null("version"))
                .col(ColumnDef::new("year").integer().not_null())
                .col(ColumnDef::new("mileage_km").integer().null())
                // Money in cents: exact, and the same on both backends.
                .col(ColumnDef::new("price_cents").big_integer().not_null())
                .col(text("status"))
                .col(uuid_null("establishment_id"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut tenant_fk(
                    "vehicles",
                    "establishment_id",
                    "establishments",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index("vehicles", "vehicles_vin", &["vin"], true))
            .await?;
        m.create_table(
            tenant_table("opportunities")
                .col(text("status"))
                .col(text_null("lost_reason"))
                .col(ColumnDef::new("customer_info").text().null())
                .col(uuid_null("source_id"))
                .col(uuid_null("assigned_user_id"))
                .col(uuid_null("establishment_id"))
                .col(ColumnDef::new("expired").boolean().not_null())
                .col(uuid_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("closed_at"))
                .col(ColumnDef::new("version").integer().not_null())
                .foreign_key(&mut tenant_fk("opportunities", "source_id", "lead_sources"))
                .foreign_key(&mut tenant_fk("opportunities", "assigned_user_id", "users"))
                .foreign_key(&mut tenant_fk(
                    "opportunities",
                    "establishment_id",
                    "establishments",
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("opportunities_assigned", &["assigned_user_id"][..]),
            ("opportunities_establishment", &["establishment_id"]),
            ("opportunities_status_created", &["status", "created_at"]),
        ] {
            m.create_index(tenant_index("opportunities", name, cols, false))
                .await?;
        }
        m.create_table(
            Table::create()
                .table("opportunity_contacts")
                .col(uuid("tenant_id"))
                .col(uuid("opportunity_id"))
                .col(uuid("contact_id"))
                .col(text_null("role"))
                .col(ColumnDef::new("position").integer().not_null())
                .primary_key(
                    Index::create()
                        .col("tenant_id")
                        .col("opportunity_id")
                        .col("contact_id"),
                )
                .foreign_key(&mut tenant_fk_cascade(
                    "opportunity_contacts",
                    "opportunity_id",
                    "opportunities",
                ))
                .foreign_key(&mut tenant_fk_cascade(
                    "opportunity_contacts",
                    "contact_id",
                    "contacts",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "opportunity_contacts",
            "opportunity_contacts_contact",
            &["contact_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("opportunity_vehicles")
                .col(uuid("tenant_id"))
                .col(uuid("opportunity_id"))
                .col(uuid("vehicle_id"))
                .col(ColumnDef::new("position").integer().not_null())
                .primary_key(
                    Index::create()
                        .col("tenant_id")
                        .col("opportunity_id")
                        .col("vehicle_id"),
                )
                .foreign_key(&mut tenant_fk_cascade(
                    "opportunity_vehicles",
                    "opportunity_id",
                    "opportunities",
                ))
                .foreign_key(&mut tenant_fk_cascade(
                    "opportunity_vehicles",
                    "vehicle_id",
                    "vehicles",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "opportunity_vehicles",
            "opportunity_vehicles_vehicle",
            &["vehicle_id"],
            false,
        ))
        .await?;
        // Tenant settings as JSON documents by key (e.g. `expiry`).
        m.create_table(
            Table::create()
                .table("tenant_settings")
                .col(uuid("tenant_id"))
                .col(text("key"))
                .col(ColumnDef::new("value").json().not_null())
                .col(ts("updated_at"))
                .primary_key(Index::create().col("tenant_id").col("key"))
                .foreign_key(
                    ForeignKey::create()
                        .from("tenant_settings", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A periodic job's claim on a tenant, so two nodes never run it for one tenant at once.
        m.create_table(
            Table::create()
                .table("job_claims")
                .col(uuid("tenant_id"))
                .col(text("job"))
                .col(text("claimed_by"))
                .col(ts("claimed_until"))
                .col(ts_null("last_run_at"))
                .primary_key(Index::create().col("tenant_id").col("job"))
                .foreign_key(
                    ForeignKey::create()
                        .from("job_claims", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "job_claims",
            "tenant_settings",
            "opportunity_vehicles",
            "opportunity_contacts",
            "opportunities",
            "vehicles",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
