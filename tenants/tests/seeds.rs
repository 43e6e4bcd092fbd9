//! Default grants: given once per tenant and object, including for modules added later.
#![allow(clippy::unwrap_used)] // test helpers: a failure should abort the test loudly

use chrono::Utc;
use forecourt_core::{
    access::{Action, Scope},
    authz::{self, Grant, role_subject},
    registry::Registry,
};
use forecourt_tenants::permissions::seed_missing_defaults;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

async fn db_with_tenant() -> (DatabaseConnection, Uuid) {
    let db = forecourt_migrations::testing::scratch_sqlite()
        .await
        .unwrap();
    let t = forecourt_migrations::testing::insert_tenant(&db)
        .await
        .unwrap();
    (db, t)
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
