//! Test support shared by the crates' database tests: a scratch SQLite database with the whole
//! schema, and a tenant row to hang records on.

use sea_orm_migration::{
    MigratorTrait,
    sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, Statement},
};
use uuid::Uuid;

/// A fresh SQLite file in the temporary folder, migrated. A file rather than `:memory:`
/// because every pooled connection to `:memory:` is a database of its own.
pub async fn scratch_sqlite() -> Result<DatabaseConnection, DbErr> {
    let path = std::env::temp_dir().join(format!("forecourt-test-{}.db", Uuid::now_v7().simple()));
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display())).await?;
    crate::Migrator::up(&db, None).await?;
    Ok(db)
}

/// Inserts an active Expert tenant and returns its id.
pub async fn insert_tenant(db: &DatabaseConnection) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO tenants (id, name, licence, status, country, language, created_at, updated_at) \
         VALUES ($1, 'T', 'expert', 'active', 'BE', 'fr', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [id.into()],
    ))
    .await?;
    Ok(id)
}

/// Inserts a minimal person contact in a tenant and returns its id.
pub async fn insert_contact(db: &DatabaseConnection, tenant_id: Uuid) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO contacts (tenant_id, id, kind, display_name, blocked, lifecycle, created_at, updated_at, version) \
         VALUES ($1, $2, 'person', 'X', false, 'prospect', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1)",
        [tenant_id.into(), id.into()],
    ))
    .await?;
    Ok(id)
}
