//! Media connectors (the `connectors` module): partners' configurations, the log of every
//! delivery with its raw body, and the idempotency keys of the leads they landed.

use crate::util::*;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_connectors"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("connectors")
                .col(text("partner"))
                .col(text("name"))
                .col(uuid_null("establishment_id"))
                .col(uuid_null("source_id"))
                .col(ColumnDef::new("enabled").boolean().not_null())
                // The HMAC key has to be read back to verify signatures, so it is stored as
                // given (unlike tokens, which are stored hashed).
                .col(text("secret"))
                // After a rotation the old secret stays valid until `previous_secret_until`.
                .col(text_null("previous_secret"))
                .col(ts_null("previous_secret_until"))
                .col(uuid_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut tenant_fk(
                    "connectors",
                    "establishment_id",
                    "establishments",
                ))
                .foreign_key(&mut tenant_fk("connectors", "source_id", "lead_sources"))
                .to_owned(),
        )
        .await?;
        // The one lookup that does not start from a tenant: the inbound endpoint learns the
        // tenant from the connector its path names. Not unique (ids are UUIDv7, unique by
        // construction), so the index stays local to a shard if the schema is distributed.
        m.create_index(
            Index::create()
                .name("connectors_by_id")
                .table("connectors")
                .col("id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("connector_deliveries")
                .col(uuid("connector_id"))
                .col(text_null("webhook_id"))
                .col(ts("received_at"))
                .col(text_null("content_type"))
                // Absent for a delivery that failed the signature check: its body is untrusted.
                .col(ColumnDef::new("body").blob().null())
                .col(text("body_sha256"))
                .col(ColumnDef::new("size").big_integer().not_null())
                .col(text("outcome"))
                .col(ColumnDef::new("status_code").integer().not_null())
                .col(ColumnDef::new("error").json().null())
                .col(ColumnDef::new("results").json().not_null())
                .col(uuid_null("replay_of"))
                .col(ts_null("processed_at"))
                .foreign_key(&mut tenant_fk_cascade(
                    "connector_deliveries",
                    "connector_id",
                    "connectors",
                ))
                .foreign_key(&mut tenant_fk_cascade(
                    "connector_deliveries",
                    "replay_of",
                    "connector_deliveries",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "connector_deliveries",
            "connector_deliveries_received",
            &["connector_id", "received_at"],
            false,
        ))
        .await?;

        // The idempotency of intake: one row per lead a connector landed, keyed by the
        // partner's lead id (`id@source`) or, for a lead without one, by the delivery's
        // `webhook-id` and the prospect's position. Inserted in the transaction that lands the
        // lead, so of two concurrent deliveries of one lead exactly one commits.
        m.create_table(
            Table::create()
                .table("connector_leads")
                .col(uuid("tenant_id"))
                .col(uuid("connector_id"))
                .col(text("lead_key"))
                // The delivery that landed it; not a foreign key, so that the key outlives a
                // purge of old deliveries from the log.
                .col(uuid("delivery_id"))
                // The CRM's records, not foreign keys: contacts are merged and deleted by the CRM.
                .col(uuid_null("contact_id"))
                .col(uuid_null("opportunity_id"))
                .col(ts("created_at"))
                .primary_key(
                    Index::create()
                        .col("tenant_id")
                        .col("connector_id")
                        .col("lead_key"),
                )
                .foreign_key(&mut tenant_fk_cascade(
                    "connector_leads",
                    "connector_id",
                    "connectors",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(tenant_index(
            "connector_leads",
            "connector_leads_contact",
            &["contact_id"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["connector_leads", "connector_deliveries", "connectors"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
