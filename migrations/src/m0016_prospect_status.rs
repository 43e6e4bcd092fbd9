//! Prospects carry a status (issue 12): `new` until someone moves them. Existing prospects
//! start in `new`, the initial status of every tenant's prospect set.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_prospect_status"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("contacts")
                .add_column(ColumnDef::new("prospect_status").text().null())
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::update()
                .table("contacts")
                .value("prospect_status", "new")
                .and_where(Expr::col("lifecycle").eq("prospect"))
                .to_owned(),
        )
        .await?;
        // Prospect lists filter by status, and archiving a status counts its prospects.
        m.create_index(tenant_index(
            "contacts",
            "contacts_prospect_status",
            &["prospect_status"],
            false,
        ))
        .await
    }
}
