//! Which permission objects' default grants each tenant has received, so that the defaults of
//! a module added after a tenant was onboarded are given once, and an admin's later changes
//! to them are never undone.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_permission_seeds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("permission_seeds")
                .col(uuid("tenant_id"))
                .col(text("object"))
                .col(ts("seeded_at"))
                .primary_key(Index::create().col("tenant_id").col("object"))
                .foreign_key(
                    ForeignKey::create()
                        .from("permission_seeds", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("permission_seeds").to_owned())
            .await
    }
}
