//! Contacts get a language, so mail and documents reach each customer in their own.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_contact_language"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("contacts")
                .add_column(ColumnDef::new("language").text().null())
                .to_owned(),
        )
        .await
    }
}
