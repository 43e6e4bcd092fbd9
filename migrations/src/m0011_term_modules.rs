//! Search terms carry the module that contributed them (`''` for the contact's own fields),
//! so a search can ignore the terms of a module the tenant lacks or switched off, the moment
//! it is switched off, without reindexing the tenant.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_term_modules"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("contact_terms")
                .add_column(
                    ColumnDef::new("module")
                        .text()
                        .not_null()
                        .default(Expr::val("")),
                )
                .to_owned(),
        )
        .await
    }
}
