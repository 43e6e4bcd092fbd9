//! The history of every status change, for every entity that carries a status: kept in core
//! so that opportunities, prospects and (later) projects share one history and one report,
//! with or without the `statuses` module.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_status_history"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("status_changes")
                .col(text("entity"))
                .col(uuid("record_id"))
                .col(text_null("from_status"))
                .col(text("to_status"))
                .col(ts("at"))
                .col(uuid_null("actor_user_id"))
                .col(text_null("reason"))
                .col(text_null("note"))
                .col(ColumnDef::new("seconds_in_from").big_integer().null())
                .col(text("cause"))
                .to_owned(),
        )
        .await?;
        // A record's history in order; and "was this status ever used" / the pipeline report.
        m.create_index(tenant_index(
            "status_changes",
            "status_changes_record",
            &["entity", "record_id", "at"],
            false,
        ))
        .await?;
        m.create_index(tenant_index(
            "status_changes",
            "status_changes_to",
            &["entity", "to_status", "at"],
            false,
        ))
        .await
    }
}
