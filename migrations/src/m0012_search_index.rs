//! Contact search checks every token but the rarest against the candidates of the rarest
//! (`EXISTS` on the candidate's own terms): index the terms by `(tenant_id, contact_id, term)`
//! so that check reads a few index entries of one contact, never the table. It replaces the
//! `(tenant_id, contact_id)` index, of which it is an extension (deleting a contact's terms
//! and the foreign key to contacts use it the same way).

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_search_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(tenant_index(
            "contact_terms",
            "contact_terms_contact_term",
            &["contact_id", "term"],
            false,
        ))
        .await?;
        m.drop_index(
            Index::drop()
                .name("contact_terms_contact")
                .table("contact_terms")
                .to_owned(),
        )
        .await
    }
}
