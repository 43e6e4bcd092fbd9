//! Consent storage on a real (SQLite) database: tenant scoping, senders, merges.
#![allow(clippy::unwrap_used)] // test helpers: a failure should abort the test loudly

use chrono::{DateTime, Duration, Utc};
use forecourt_core::tenancy::TenantId;
use forecourt_optins::service::{self, Channel, NewEvent};
use forecourt_tenants::TenantDirectory;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use uuid::Uuid;

async fn db() -> DatabaseConnection {
    forecourt_migrations::testing::scratch_sqlite()
        .await
        .unwrap()
}

async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await
    .unwrap();
}

const STAMP: &str = "'2026-01-01T00:00:00Z'";

async fn tenant(db: &DatabaseConnection) -> Uuid {
    forecourt_migrations::testing::insert_tenant(db)
        .await
        .unwrap()
}

async fn company(db: &DatabaseConnection, t: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        db,
        &format!(
            "INSERT INTO companies (tenant_id, id, name, created_at, updated_at) \
             VALUES ($1, $2, 'C', {STAMP}, {STAMP})"
        ),
        vec![t.into(), id.into()],
    )
    .await;
    id
}

async fn contact(db: &DatabaseConnection, t: Uuid) -> Uuid {
    forecourt_migrations::testing::insert_contact(db, t)
        .await
        .unwrap()
}

fn ev(channel: Channel, sender: &str, granted: bool) -> NewEvent<'_> {
    NewEvent {
        channel,
        sender,
        granted,
        source: "showroom form",
        proof: None,
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap() + Duration::minutes(minutes)
}

#[tokio::test]
async fn a_sender_id_must_be_a_company_of_the_tenant() {
    let db = db().await;
    let (t, other) = (tenant(&db).await, tenant(&db).await);
    let (own, foreign) = (company(&db, t).await, company(&db, other).await);
    let c = contact(&db, t).await;
    let m = service::record(
        &db,
        &TenantDirectory,
        &TenantId::new(t),
        c,
        None,
        ev(Channel::Email, &own.to_string(), true),
        at(0),
    )
    .await
    .unwrap();
    assert_eq!(m.sender, own.to_string());
    for bad in [foreign, Uuid::now_v7()] {
        let err = service::record(
            &db,
            &TenantDirectory,
            &TenantId::new(t),
            c,
            None,
            ev(Channel::Email, &bad.to_string(), true),
            at(1),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, forecourt_core::Error::Validation { ref field, .. } if field == "sender"),
            "{err:?}"
        );
    }
    // Another tenant sees nothing of this contact's history.
    assert!(
        service::history(&db, &TenantId::new(other), c)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        service::history(&db, &TenantId::new(t), c)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn merged_histories_follow_the_survivor_whole() {
    let db = db().await;
    let (t, other) = (tenant(&db).await, tenant(&db).await);
    let (survivor, dup, stranger) = (
        contact(&db, t).await,
        contact(&db, t).await,
        contact(&db, other).await,
    );
    service::record(
        &db,
        &TenantDirectory,
        &TenantId::new(t),
        survivor,
        None,
        ev(Channel::Email, "Opel", true),
        at(0),
    )
    .await
    .unwrap();
    service::record(
        &db,
        &TenantDirectory,
        &TenantId::new(t),
        dup,
        None,
        ev(Channel::Email, "Opel", false),
        at(5),
    )
    .await
    .unwrap();
    service::record(
        &db,
        &TenantDirectory,
        &TenantId::new(t),
        dup,
        None,
        ev(Channel::Sms, "Opel", true),
        at(6),
    )
    .await
    .unwrap();
    service::record(
        &db,
        &TenantDirectory,
        &TenantId::new(other),
        stranger,
        None,
        ev(Channel::Sms, "Opel", true),
        at(7),
    )
    .await
    .unwrap();

    // A foreign id in the list moves nothing of the other tenant.
    let moved = service::move_to_survivor(&db, &TenantId::new(t), survivor, &[dup, stranger])
        .await
        .unwrap();
    assert_eq!(moved, 2);
    assert!(
        service::history(&db, &TenantId::new(t), dup)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        service::history(&db, &TenantId::new(other), stranger)
            .await
            .unwrap()
            .len(),
        1
    );

    let history = service::history(&db, &TenantId::new(t), survivor)
        .await
        .unwrap();
    assert_eq!(history.len(), 3);
    assert!(
        history.windows(2).all(|w| w[0].at >= w[1].at),
        "newest first"
    );
    let current: Vec<(&str, bool)> = service::current(&history)
        .iter()
        .map(|e| (e.channel.as_str(), e.granted))
        .collect();
    // The withdrawal recorded on the duplicate is newer: it wins.
    assert_eq!(current, vec![("email", false), ("sms", true)]);
}
