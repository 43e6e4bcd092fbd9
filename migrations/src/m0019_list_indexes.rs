//! Indexes for the sorts and filters of the lists (issue 13): each list pages by keyset on
//! `(sort value, id)` within a tenant, so the common orders and filters get an index that
//! starts with `tenant_id` and ends with the tie-break where it sorts.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_list_indexes"
    }
}

/// `(table, index, columns after tenant_id)`.
const INDEXES: [(&str, &str, &[&str]); 6] = [
    ("contacts", "contacts_created_id", &["created_at", "id"]),
    ("contacts", "contacts_updated_id", &["updated_at", "id"]),
    ("contacts", "contacts_company", &["company_id"]),
    (
        "opportunities",
        "opportunities_updated_id",
        &["updated_at", "id"],
    ),
    (
        "opportunities",
        "opportunities_team_created",
        &["assigned_team_id", "created_at"],
    ),
    // The tenant-wide tasks list reads one kind of action across opportunities.
    (
        "opportunity_actions",
        "opportunity_actions_kind_created",
        &["kind", "created_at", "id"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, cols) in INDEXES {
            m.create_index(tenant_index(table, name, cols, false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, _) in INDEXES {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
