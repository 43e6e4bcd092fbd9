//! The lead-source report and the lead intake read opportunities by creation time and by
//! source within a period: index both, so a large tenant's report stays a range scan.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_report_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, cols) in [
            ("opportunities_created", &["created_at"][..]),
            ("opportunities_source_created", &["source_id", "created_at"]),
        ] {
            m.create_index(tenant_index("opportunities", name, cols, false))
                .await?;
        }
        Ok(())
    }
}
