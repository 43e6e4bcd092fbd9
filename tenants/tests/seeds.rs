//! Default grants: given once per tenant and object, including for modules added later.
#![allow(clippy::unwrap_used)] // test helpers: a failure should abort the test loudly

use chrono::Utc;
use forecourt_core::{
    authz::{self, Grant, role_subject},
    module::{Action, Registry, Scope},
};
use forecourt_tenants::permissions::seed_missing_defaults;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

async fn db_with_tenant() -> (DatabaseConnection, Uuid) {
    let dir = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    let db = forecourt_core::db::connect(&url).await.unwrap();
    forecourt_migrations::Migrator::up(&db, None).await.unwrap();
    let id = Uuid::now_v7();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO tenants (id, name, licence, status, country, language, created_at, updated_at) \
         VALUES ($1, 'T', 'expert', 'active', 'BE', 'fr', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [id.into()],
    ))
    .await
    .unwrap();
    (db, id)
}

#[tokio::test]
async fn a_module_added_later_gets_its_defaults_once() {
    let (db, t) = db_with_tenant().await;
    let platform_only = Registry::new(vec![Box::new(forecourt_tenants::PlatformModule)]).unwrap();
    let objects = platform_only.permission_objects().count();
    assert_eq!(
        seed_missing_defaults(&db, &platform_only, t, Utc::now())
            .await
            .unwrap(),
        objects
    );
    assert_eq!(
        seed_missing_defaults(&db, &platform_only, t, Utc::now())
            .await
            .unwrap(),
        0
    );

    // The server now also has `sources`: only its object is seeded.
    let with_sources = Registry::new(vec![
        Box::new(forecourt_tenants::PlatformModule),
        Box::new(forecourt_sources::SourcesModule),
    ])
    .unwrap();
    assert_eq!(
        seed_missing_defaults(&db, &with_sources, t, Utc::now())
            .await
            .unwrap(),
        1
    );
    let manager = Grant {
        subject: role_subject("manager"),
        object: "settings.sources".into(),
        action: Action::Write,
        scope: Scope::Tenant,
    };
    let role_grants = authz::grants(&db, t, Some(&role_subject("manager")))
        .await
        .unwrap();
    assert!(role_grants.contains(&manager), "{role_grants:?}");

    // An admin's revocation stands: the next startup does not give it back.
    assert!(authz::remove_grant(&db, t, &manager).await.unwrap());
    assert_eq!(
        seed_missing_defaults(&db, &with_sources, t, Utc::now())
            .await
            .unwrap(),
        0
    );
    let role_grants = authz::grants(&db, t, Some(&role_subject("manager")))
        .await
        .unwrap();
    assert!(!role_grants.contains(&manager));
}
