//! `Idempotency-Key` on POST (issue 13): each principal's keys with the first answer given for
//! each, kept 24 hours (`core::http::idempotency`). The primary key `(principal, idem_key)` is
//! what lets exactly one of racing requests claim a key, on one node or many.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_idempotency"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Not a tenant table: platform accounts send keys too, so `tenant_id` is null for
        // them. The tenant is part of `principal` (`tenant:<id>:user:<id>`), and the tenant's
        // keys go with it.
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(text("principal"))
                .col(text("idem_key"))
                .col(uuid_null("tenant_id"))
                .col(text("fingerprint"))
                .col(uuid("owner"))
                .col(ColumnDef::new("status").integer().null())
                .col(ColumnDef::new("headers").text().null())
                .col(ColumnDef::new("body").blob().null())
                .col(ts("created_at"))
                .col(ts("locked_at"))
                .primary_key(Index::create().col("principal").col("idem_key"))
                .foreign_key(
                    ForeignKey::create()
                        .from("idempotency_keys", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The hourly purge deletes by age.
        m.create_index(
            Index::create()
                .name("idempotency_keys_created")
                .table("idempotency_keys")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        // The tenant's rows, found when the tenant goes.
        m.create_index(
            Index::create()
                .name("idempotency_keys_tenant")
                .table("idempotency_keys")
                .col("tenant_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("idempotency_keys").to_owned())
            .await
    }
}
