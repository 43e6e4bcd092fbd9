//! Category storage on a real (SQLite) database: tenant scoping and merges.
#![allow(clippy::unwrap_used)] // test helpers: a failure should abort the test loudly

use chrono::{DateTime, Duration, Utc};
use forecourt_core::tenancy::TenantId;
use forecourt_opel::service::{self, FleetCode, Segment};
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

async fn contact(db: &DatabaseConnection, t: Uuid) -> Uuid {
    forecourt_migrations::testing::insert_contact(db, t)
        .await
        .unwrap()
}

fn code_of(raw: &str) -> FleetCode {
    FleetCode::parse(raw).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap() + Duration::minutes(minutes)
}

async fn code(db: &DatabaseConnection, t: Uuid, c: Uuid) -> Option<String> {
    service::get(db, &TenantId::new(t), c)
        .await
        .unwrap()
        .map(|m| m.fleet_code)
}

#[tokio::test]
async fn set_replace_and_remove() {
    let db = db().await;
    let (t, other) = (tenant(&db).await, tenant(&db).await);
    let c = contact(&db, t).await;
    let (before, after) = service::set(
        &db,
        &TenantId::new(t),
        c,
        Segment::Fleet,
        &code_of(" ab12345 "),
        None,
        at(0),
    )
    .await
    .unwrap();
    assert!(before.is_none());
    assert_eq!(
        (after.segment.as_str(), after.fleet_code.as_str()),
        ("fleet", "AB12345")
    );
    // The same values again change nothing, not even the stamp.
    let (before, again) = service::set(
        &db,
        &TenantId::new(t),
        c,
        Segment::Fleet,
        &code_of("AB12345"),
        None,
        at(9),
    )
    .await
    .unwrap();
    assert_eq!(before.as_ref(), Some(&after));
    assert_eq!(again, after);
    let (_, changed) = service::set(
        &db,
        &TenantId::new(t),
        c,
        Segment::Rental,
        &code_of("ZZ999"),
        None,
        at(10),
    )
    .await
    .unwrap();
    assert_eq!(
        (changed.segment.as_str(), changed.updated_at),
        ("rental", at(10))
    );
    assert!(
        service::get(&db, &TenantId::new(other), c)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        service::remove(&db, &TenantId::new(other), c)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        service::remove(&db, &TenantId::new(t), c)
            .await
            .unwrap()
            .unwrap()
            .fleet_code,
        "ZZ999"
    );
    assert!(
        service::remove(&db, &TenantId::new(t), c)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn survivor_keeps_its_category_or_takes_the_newest_merged_one() {
    let db = db().await;
    let t = tenant(&db).await;
    let (a, b, c) = (
        contact(&db, t).await,
        contact(&db, t).await,
        contact(&db, t).await,
    );
    service::set(
        &db,
        &TenantId::new(t),
        b,
        Segment::Fleet,
        &code_of("OLD111"),
        None,
        at(0),
    )
    .await
    .unwrap();
    service::set(
        &db,
        &TenantId::new(t),
        c,
        Segment::Lcv,
        &code_of("NEW222"),
        None,
        at(5),
    )
    .await
    .unwrap();

    // `a` has none: it takes the most recently updated one; the merged rows are gone.
    assert!(
        service::merge_into(&db, &TenantId::new(t), a, &[b, c])
            .await
            .unwrap()
    );
    assert_eq!(code(&db, t, a).await.as_deref(), Some("NEW222"));
    assert_eq!(code(&db, t, b).await, None);
    assert_eq!(code(&db, t, c).await, None);

    // `a` has one: it keeps it, and the merged contact's row is deleted.
    let d = contact(&db, t).await;
    service::set(
        &db,
        &TenantId::new(t),
        d,
        Segment::Private,
        &code_of("DDD444"),
        None,
        at(20),
    )
    .await
    .unwrap();
    assert!(
        !service::merge_into(&db, &TenantId::new(t), a, &[d])
            .await
            .unwrap()
    );
    assert_eq!(code(&db, t, a).await.as_deref(), Some("NEW222"));
    assert_eq!(code(&db, t, d).await, None);

    // Nothing to move: nothing changes.
    let e = contact(&db, t).await;
    assert!(
        !service::merge_into(&db, &TenantId::new(t), e, &[b])
            .await
            .unwrap()
    );
    assert_eq!(code(&db, t, e).await, None);
}

#[tokio::test]
async fn another_tenants_contact_is_never_touched_by_a_merge() {
    let db = db().await;
    let (t, other) = (tenant(&db).await, tenant(&db).await);
    let (a, foreign) = (contact(&db, t).await, contact(&db, other).await);
    service::set(
        &db,
        &TenantId::new(other),
        foreign,
        Segment::Fleet,
        &code_of("FOR123"),
        None,
        at(0),
    )
    .await
    .unwrap();
    assert!(
        !service::merge_into(&db, &TenantId::new(t), a, &[foreign])
            .await
            .unwrap()
    );
    assert_eq!(code(&db, t, a).await, None);
    assert_eq!(code(&db, other, foreign).await.as_deref(), Some("FOR123"));
}
