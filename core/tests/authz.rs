//! The permission service against a real SQLite database with the real schema.
#![allow(clippy::unwrap_used)] // test helpers: a failure should abort the test loudly

use forecourt_core::{
    access::{Action, Scope},
    authz::{self, Authz, Grant, role_subject, user_subject},
    cache::Cache,
    context::TenantUser,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

async fn db() -> DatabaseConnection {
    forecourt_migrations::testing::scratch_sqlite()
        .await
        .unwrap()
}

async fn tenant(db: &DatabaseConnection) -> Uuid {
    forecourt_migrations::testing::insert_tenant(db)
        .await
        .unwrap()
}

fn grant(subject: String, object: &str, action: Action, scope: Scope) -> Grant {
    Grant {
        subject,
        object: object.into(),
        action,
        scope,
    }
}

#[tokio::test]
async fn roles_scopes_admin_and_tenant_boundaries() {
    let db = db().await;
    let (t1, t2) = (tenant(&db).await, tenant(&db).await);
    let user = TenantUser {
        tenant_id: t1,
        user_id: Uuid::now_v7(),
        establishment_id: None,
        team_ids: vec![],
    };
    let authz = Authz::new(db.clone(), Cache::memory("t"));

    assert_eq!(
        authz.scope(&user, "contacts", Action::Read).await.unwrap(),
        None
    );

    authz::add_grant(
        &db,
        t1,
        &grant(
            role_subject("sales"),
            "contacts",
            Action::Read,
            Scope::Establishment,
        ),
    )
    .await
    .unwrap();
    authz::set_user_roles(&db, t1, user.user_id, &["sales".into()])
        .await
        .unwrap();
    // The same user id in another tenant's rules must never count in t1.
    authz::add_grant(
        &db,
        t2,
        &grant(
            user_subject(user.user_id),
            "contacts",
            Action::Admin,
            Scope::Tenant,
        ),
    )
    .await
    .unwrap();
    authz.changed(t1).await;

    assert_eq!(
        authz.scope(&user, "contacts", Action::Read).await.unwrap(),
        Some(Scope::Establishment)
    );
    assert_eq!(
        authz.scope(&user, "contacts", Action::Write).await.unwrap(),
        None
    );
    assert!(
        authz
            .require(&user, "contacts", Action::Delete)
            .await
            .is_err()
    );

    // `admin` implies every action; the widest scope wins.
    authz::add_grant(
        &db,
        t1,
        &grant(
            user_subject(user.user_id),
            "contacts",
            Action::Admin,
            Scope::Own,
        ),
    )
    .await
    .unwrap();
    authz.changed(t1).await;
    assert_eq!(
        authz
            .scope(&user, "contacts", Action::Delete)
            .await
            .unwrap(),
        Some(Scope::Own)
    );
    assert_eq!(
        authz.scope(&user, "contacts", Action::Read).await.unwrap(),
        Some(Scope::Establishment)
    );

    assert_eq!(
        authz.user_roles(t1, user.user_id).await.unwrap(),
        vec!["sales".to_string()]
    );
    assert!(
        authz::remove_grant(
            &db,
            t1,
            &grant(
                role_subject("sales"),
                "contacts",
                Action::Read,
                Scope::Establishment
            )
        )
        .await
        .unwrap()
    );
    assert!(
        !authz::remove_grant(
            &db,
            t1,
            &grant(
                role_subject("sales"),
                "contacts",
                Action::Read,
                Scope::Establishment
            )
        )
        .await
        .unwrap()
    );
}

#[tokio::test]
async fn version_check_drops_stale_enforcers_without_any_message() {
    let db = db().await;
    let t = tenant(&db).await;
    let user = TenantUser {
        tenant_id: t,
        user_id: Uuid::now_v7(),
        establishment_id: None,
        team_ids: vec![],
    };
    // Two nodes that share nothing but the database.
    let (a, b) = (
        Authz::new(db.clone(), Cache::memory("a")),
        Authz::new(db.clone(), Cache::memory("b")),
    );
    assert_eq!(b.scope(&user, "x", Action::Read).await.unwrap(), None);

    authz::add_grant(
        &db,
        t,
        &grant(user_subject(user.user_id), "x", Action::Read, Scope::Tenant),
    )
    .await
    .unwrap();
    a.changed(t).await;
    assert_eq!(
        b.scope(&user, "x", Action::Read).await.unwrap(),
        None,
        "b still has its old enforcer"
    );
    b.drop_stale().await.unwrap();
    assert_eq!(
        b.scope(&user, "x", Action::Read).await.unwrap(),
        Some(Scope::Tenant)
    );
}

#[tokio::test]
async fn write_and_delete_imply_read() {
    let db = db().await;
    let t = tenant(&db).await;
    let user = TenantUser {
        tenant_id: t,
        user_id: Uuid::now_v7(),
        establishment_id: None,
        team_ids: vec![],
    };
    let authz = Authz::new(db.clone(), Cache::memory("t"));
    authz::add_grant(
        &db,
        t,
        &grant(
            user_subject(user.user_id),
            "sources",
            Action::Write,
            Scope::Establishment,
        ),
    )
    .await
    .unwrap();
    authz.changed(t).await;
    assert_eq!(
        authz.scope(&user, "sources", Action::Read).await.unwrap(),
        Some(Scope::Establishment)
    );
    assert_eq!(
        authz.scope(&user, "sources", Action::Delete).await.unwrap(),
        None,
        "write does not imply delete"
    );
}
