//! The actions of the lead page (trade-ins, offers, test drives, tasks, follow-ups,
//! comments), one table: the kind says which validated document `data` holds.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_opportunity_actions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("opportunity_actions")
                .col(uuid("opportunity_id"))
                .col(text("kind"))
                .col(ColumnDef::new("data").json().not_null())
                .col(uuid_null("created_by"))
                .col(ts("created_at"))
                .foreign_key(&mut tenant_fk_cascade(
                    "opportunity_actions",
                    "opportunity_id",
                    "opportunities",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "opportunity_actions",
            "opportunity_actions_kind",
            &["opportunity_id", "kind", "id"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("opportunity_actions").to_owned())
            .await
    }
}
