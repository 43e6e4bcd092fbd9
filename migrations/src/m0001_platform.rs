//! Operator, resellers, tenants, companies, establishments, users, credentials, module toggles,
//! permission rules, the activity log and the mail outbox.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_platform"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("resellers")
                .col(uuid("id").primary_key())
                .col(text("name"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("tenants")
                .col(uuid("id").primary_key())
                .col(uuid_null("reseller_id"))
                .col(text("name"))
                .col(text("licence"))
                .col(text("status"))
                .col(text("country"))
                .col(text("language"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("tenants", "reseller_id")
                        .to("resellers", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("tenants_reseller")
                .table("tenants")
                .col("reseller_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        // Operator (reseller_id NULL) and reseller accounts: platform users, not tenant users.
        m.create_table(
            Table::create()
                .table("platform_users")
                .col(uuid("id").primary_key())
                .col(uuid_null("reseller_id"))
                .col(text("email"))
                .col(text("name"))
                .col(text_null("password_hash"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("platform_users", "reseller_id")
                        .to("resellers", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            tenant_table("companies")
                .col(text("name"))
                .col(text_null("vat_number"))
                .col(text_null("national_number"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            tenant_table("establishments")
                .col(uuid("company_id"))
                .col(text("name"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut tenant_fk("establishments", "company_id", "companies"))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "establishments",
            "establishments_company",
            &["company_id"],
            false,
        ))
        .await?;
        m.create_table(
            tenant_table("users")
                .col(text("email"))
                .col(text("name"))
                .col(text_null("password_hash"))
                .col(uuid_null("establishment_id"))
                .col(ColumnDef::new("active").boolean().not_null())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut tenant_fk(
                    "users",
                    "establishment_id",
                    "establishments",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index("users", "users_email", &["email"], true))
            .await?;
        m.create_index(tenant_index(
            "users",
            "users_establishment",
            &["establishment_id"],
            false,
        ))
        .await?;
        // A login email is unique across the whole platform, so `{email, password}` names one
        // account. The primary key enforces it under concurrency.
        m.create_table(
            Table::create()
                .table("login_emails")
                .col(text("email").primary_key())
                .col(uuid_null("platform_user_id"))
                .col(uuid_null("tenant_id"))
                .col(uuid_null("user_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("login_emails", "platform_user_id")
                        .to("platform_users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from_tbl("login_emails")
                        .from_col("tenant_id")
                        .from_col("user_id")
                        .to_tbl("users")
                        .to_col("tenant_id")
                        .to_col("id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Every secret we hand out (sessions, API keys, invitations), stored as its SHA-256.
        m.create_table(
            Table::create()
                .table("credentials")
                .col(text("token_hash").primary_key())
                .col(text("kind"))
                .col(uuid_null("platform_user_id"))
                .col(uuid_null("tenant_id"))
                .col(uuid_null("user_id"))
                .col(uuid_null("api_key_id"))
                .col(ts("created_at"))
                .col(ts_null("expires_at"))
                .col(ts_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("credentials", "platform_user_id")
                        .to("platform_users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from_tbl("credentials")
                        .from_col("tenant_id")
                        .from_col("user_id")
                        .to_tbl("users")
                        .to_col("tenant_id")
                        .to_col("id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("credentials_tenant_user")
                .table("credentials")
                .col("tenant_id")
                .col("user_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            tenant_table("api_keys")
                .col(uuid("user_id"))
                .col(text("name"))
                .col(text("prefix"))
                .col(uuid_null("created_by"))
                .col(ts("created_at"))
                .col(ts_null("revoked_at"))
                .foreign_key(&mut tenant_fk("api_keys", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("tenant_modules")
                .col(uuid("tenant_id"))
                .col(text("module"))
                .col(ColumnDef::new("enabled").boolean().not_null())
                .col(ts("updated_at"))
                .primary_key(Index::create().col("tenant_id").col("module"))
                .foreign_key(
                    ForeignKey::create()
                        .from("tenant_modules", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // casbin rules, one tenant (casbin domain) per row.
        m.create_table(
            tenant_table("casbin_rules")
                .col(text("ptype"))
                .col(text("v0"))
                .col(text("v1"))
                .col(text("v2"))
                .col(text("v3"))
                .col(text("v4"))
                .col(text("v5"))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "casbin_rules",
            "casbin_rules_rule",
            &["ptype", "v0", "v1", "v2", "v3", "v4", "v5"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("authz_versions")
                .col(uuid("tenant_id").primary_key())
                .col(ColumnDef::new("version").big_integer().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from("authz_versions", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            tenant_table("activity_log")
                .col(ts("at"))
                .col(uuid_null("actor_user_id"))
                .col(text("actor"))
                .col(text("entity_type"))
                .col(uuid("entity_id"))
                .col(text("action"))
                .col(ColumnDef::new("changes").json().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "activity_log",
            "activity_log_entity",
            &["entity_type", "entity_id", "at"],
            false,
        ))
        .await?;
        // The outbox is platform-wide (reseller mail has no tenant); tenant_id is kept when known.
        m.create_table(
            Table::create()
                .table("mail_outbox")
                .col(uuid("id").primary_key())
                .col(uuid_null("tenant_id"))
                .col(text("to_addr"))
                .col(text("subject"))
                .col(ColumnDef::new("text_body").text().not_null())
                .col(ColumnDef::new("html_body").text().not_null())
                .col(text("status"))
                .col(ColumnDef::new("attempts").integer().not_null())
                .col(ts("next_attempt_at"))
                .col(ts_null("claimed_until"))
                .col(ColumnDef::new("last_error").text().null())
                .col(ts("created_at"))
                .col(ts_null("sent_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("mail_outbox", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("mail_outbox_due")
                .table("mail_outbox")
                .col("status")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("mail_outbox_tenant")
                .table("mail_outbox")
                .col("tenant_id")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "mail_outbox",
            "activity_log",
            "authz_versions",
            "casbin_rules",
            "tenant_modules",
            "api_keys",
            "credentials",
            "login_emails",
            "users",
            "establishments",
            "companies",
            "platform_users",
            "tenants",
            "resellers",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
