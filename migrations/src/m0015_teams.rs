//! Teams of a tenant's users, and the team a contact or an opportunity is assigned to (the
//! `own` scope reaches what is assigned to the user or to a team of theirs).

use crate::util::*;
use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_teams"
    }
}

/// The tables that gain `assigned_team_id`.
const ASSIGNED: [&str; 2] = ["contacts", "opportunities"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("teams")
                .col(text("name"))
                .col(text("name_key"))
                .col(uuid_null("establishment_id"))
                .col(uuid_null("leader_user_id"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ColumnDef::new("version").integer().not_null())
                .foreign_key(&mut tenant_fk(
                    "teams",
                    "establishment_id",
                    "establishments",
                ))
                .foreign_key(&mut tenant_fk("teams", "leader_user_id", "users"))
                .to_owned(),
        )
        .await?;
        // `name_key` is the trimmed, lower-cased name: "Sales" and "sales " are one team.
        m.create_index(tenant_index("teams", "teams_name", &["name_key"], true))
            .await?;
        m.create_table(
            Table::create()
                .table("team_members")
                .col(uuid("tenant_id"))
                .col(uuid("team_id"))
                .col(uuid("user_id"))
                .col(ColumnDef::new("position").integer().not_null())
                .primary_key(
                    Index::create()
                        .col("tenant_id")
                        .col("team_id")
                        .col("user_id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("team_members", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut tenant_fk_cascade("team_members", "team_id", "teams"))
                .foreign_key(&mut tenant_fk("team_members", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        // A user's teams, read with every principal that is resolved.
        m.create_index(tenant_index(
            "team_members",
            "team_members_user",
            &["user_id", "team_id"],
            false,
        ))
        .await?;
        for table in ASSIGNED {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(ColumnDef::new("assigned_team_id").uuid().null())
                    .to_owned(),
            )
            .await?;
            // The `own` scope and the list filter read a team's records.
            m.create_index(tenant_index(
                table,
                &format!("{table}_assigned_team"),
                &["assigned_team_id"],
                false,
            ))
            .await?;
            same_tenant_team(m, table).await?;
        }
        Ok(())
    }
}

/// Keeps `table.assigned_team_id` pointing at a team of the row's own tenant, and a team
/// that rows still point at from being deleted, as a composite foreign key does. PostgreSQL
/// takes the key itself; SQLite cannot add a constraint to an existing table (rebuilding
/// `contacts` would cascade into its children), so triggers raise the same error there (a
/// tenant's own removal, which cascades everything, is let through).
async fn same_tenant_team(m: &SchemaManager<'_>, table: &'static str) -> Result<(), DbErr> {
    if m.get_database_backend() == DbBackend::Postgres {
        return m
            .create_foreign_key(
                tenant_fk(table, "assigned_team_id", "teams")
                    .name(format!("{table}_assigned_team_fk"))
                    .to_owned(),
            )
            .await;
    }
    let db = m.get_connection();
    let check = "NEW.assigned_team_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM teams \
                 WHERE teams.tenant_id = NEW.tenant_id AND teams.id = NEW.assigned_team_id)";
    for event in ["INSERT", "UPDATE OF assigned_team_id, tenant_id"] {
        let name = format!(
            "{table}_assigned_team_{}",
            if event == "INSERT" {
                "insert"
            } else {
                "update"
            }
        );
        db.execute_unprepared(&format!(
            "CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN {check} \
             BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
        ))
        .await?;
    }
    db.execute_unprepared(&format!(
        "CREATE TRIGGER {table}_assigned_team_delete BEFORE DELETE ON teams FOR EACH ROW \
         WHEN EXISTS (SELECT 1 FROM {table} WHERE {table}.tenant_id = OLD.tenant_id \
         AND {table}.assigned_team_id = OLD.id) \
         AND EXISTS (SELECT 1 FROM tenants WHERE tenants.id = OLD.tenant_id) \
         BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END"
    ))
    .await?;
    Ok(())
}
