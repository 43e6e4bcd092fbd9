//! The `statuses` module: each tenant's own statuses per entity, the transitions between
//! them, and the policy (`free` or `listed`) that says whether transitions are enforced.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_statuses"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("statuses")
                .col(text("entity"))
                // The stable key records store; never changes once created.
                .col(text("key"))
                // `{fr, nl, en}`.
                .col(ColumnDef::new("labels").json().not_null())
                .col(ColumnDef::new("position").integer().not_null())
                .col(text("kind"))
                .col(ColumnDef::new("exempt_from_expiry").boolean().not_null())
                .col(ColumnDef::new("probability").integer().not_null())
                .col(text_null("colour"))
                .col(ColumnDef::new("initial").boolean().not_null())
                .col(ColumnDef::new("reserves_vehicle").boolean().not_null())
                .col(ts_null("archived_at"))
                .col(ColumnDef::new("version").integer().not_null())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "statuses",
            "statuses_entity_key",
            &["entity", "key"],
            true,
        ))
        .await?;
        m.create_table(
            tenant_table("status_transitions")
                .col(text("entity"))
                // NULL: from any open status of the entity.
                .col(uuid_null("from_status_id"))
                .col(uuid("to_status_id"))
                .col(ColumnDef::new("requires_reason").boolean().not_null())
                // Names of the record's fields that must be set: `["offer_id"]`.
                .col(ColumnDef::new("required_fields").json().not_null())
                // NULL: anyone who may change the record's status; else the role names.
                .col(ColumnDef::new("roles").json().null())
                .col(ts("created_at"))
                .foreign_key(&mut tenant_fk_cascade(
                    "status_transitions",
                    "from_status_id",
                    "statuses",
                ))
                .foreign_key(&mut tenant_fk_cascade(
                    "status_transitions",
                    "to_status_id",
                    "statuses",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "status_transitions",
            "status_transitions_entity",
            &["entity", "from_status_id"],
            false,
        ))
        .await?;
        // The foreign key to the target, for a deletion of a status to find its transitions.
        m.create_index(tenant_index(
            "status_transitions",
            "status_transitions_to",
            &["to_status_id"],
            false,
        ))
        .await?;
        m.create_table(
            tenant_table("status_policies")
                .col(text("entity"))
                // `free` or `listed`.
                .col(text("mode"))
                .col(ColumnDef::new("version").integer().not_null())
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "status_policies",
            "status_policies_entity",
            &["entity"],
            true,
        ))
        .await
    }
}
