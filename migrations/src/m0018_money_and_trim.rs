//! Issue 13: money is integer cents everywhere, and a vehicle's `version` is its row version.
//!
//! * `vehicles.version` (the trim, e.g. `1.2 Turbo GS Line`) becomes `vehicles.trim`, and
//!   `vehicles.version` is now the row version behind the vehicle's `ETag` (1 for every
//!   existing vehicle). Vehicle prices were already stored as cents (`price_cents`).
//! * The amounts of lead-page actions, stored in euros inside their JSON document (an offer's
//!   `price` and `discount`, a trade-in's `valuation`, a vehicle asked about's `price`), become
//!   integer cents (×100, rounded to the cent). The activity log keeps what was recorded then.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, JsonValue},
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_money_and_trim"
    }
}

/// The amounts of each kind of action, in euros before this migration.
const AMOUNTS: &[(&str, &[&str])] = &[
    ("offer", &["price", "discount"]),
    ("trade_in", &["valuation"]),
    ("vehicle_request", &["price"]),
];

/// `data` with every amount of `fields` in cents; `None` when nothing changes.
fn in_cents(mut data: JsonValue, fields: &[&str]) -> Option<JsonValue> {
    let doc = data.as_object_mut()?;
    let mut changed = false;
    for f in fields {
        if let Some(euros) = doc.get(*f).and_then(JsonValue::as_f64) {
            doc.insert((*f).to_string(), ((euros * 100.0).round() as i64).into());
            changed = true;
        }
    }
    changed.then_some(data)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // One call, so both run on one connection: on SQLite another pooled connection may
        // still hold the schema from before the rename and refuse the new `version` as a
        // duplicate.
        db.execute_unprepared(
            "ALTER TABLE vehicles RENAME COLUMN version TO trim; \
             ALTER TABLE vehicles ADD COLUMN version integer NOT NULL DEFAULT 1",
        )
        .await?;
        for (kind, fields) in AMOUNTS {
            let select = Query::select()
                .columns(["tenant_id", "id", "data"])
                .from("opportunity_actions")
                .and_where(Expr::col("kind").eq(*kind))
                .to_owned();
            for row in db.query_all(&select).await? {
                let data: JsonValue = row.try_get("", "data")?;
                let Some(cents) = in_cents(data, fields) else {
                    continue;
                };
                let tenant: uuid::Uuid = row.try_get("", "tenant_id")?;
                let id: uuid::Uuid = row.try_get("", "id")?;
                let update = Query::update()
                    .table("opportunity_actions")
                    .value("data", cents)
                    .and_where(Expr::col("tenant_id").eq(tenant))
                    .and_where(Expr::col("id").eq(id))
                    .to_owned();
                db.execute(&update).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::in_cents;

    #[test]
    fn euros_become_rounded_cents() {
        let data = serde_json_like(r#"{"price": 25900.5, "discount": 0.125, "valid_until": "x"}"#);
        let out = in_cents(data, &["price", "discount"]).unwrap_or_default();
        assert_eq!(out["price"], 2590050);
        assert_eq!(out["discount"], 13);
        assert_eq!(out["valid_until"], "x");
        assert!(in_cents(serde_json_like(r#"{"valuation": null}"#), &["valuation"]).is_none());
    }

    fn serde_json_like(s: &str) -> super::JsonValue {
        s.parse().unwrap_or_default()
    }
}
