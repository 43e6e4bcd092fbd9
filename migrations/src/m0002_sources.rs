//! Lead sources (the `sources` module).

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_sources"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("lead_sources")
                .col(text("name"))
                .col(text("name_key"))
                .col(ColumnDef::new("active").boolean().not_null())
                .col(uuid_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        // `name_key` is the trimmed, lower-cased name: "Website" and "website " are one source.
        m.create_index(tenant_index(
            "lead_sources",
            "lead_sources_name",
            &["name_key"],
            true,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("lead_sources").to_owned())
            .await
    }
}
