//! The outbox keeps mail that cannot be delivered and retries it with backoff.
#![allow(clippy::unwrap_used)] // test helpers: a failure should abort the test loudly

use chrono::{Duration, Utc};
use forecourt_core::{config::Config, entities::mail_outbox, mail::Mailer, secret::Secret};
use sea_orm::{DatabaseConnection, EntityTrait};

async fn db() -> DatabaseConnection {
    forecourt_migrations::testing::scratch_sqlite()
        .await
        .unwrap()
}

fn ctx() -> serde_json::Value {
    serde_json::json!({"name": "Ann", "tenant_name": "Garage", "link": "https://x/y", "expires_at": "soon"})
}

#[tokio::test]
async fn smtp_down_keeps_the_mail_and_retries_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = db().await;
    // Nothing listens on port 1: every delivery attempt fails.
    let cfg = Config {
        data_dir: dir.path().into(),
        smtp_url: Some(Secret::new("smtp://127.0.0.1:1")),
        ..Config::default()
    };
    let mailer = Mailer::new(&cfg).unwrap();
    let now = Utc::now();
    let id = mailer
        .enqueue(&db, now, None, "ann@garage.be", "invitation", "nl", &ctx())
        .await
        .unwrap();

    assert_eq!(mailer.deliver_due(&db, now).await.unwrap(), 0);
    let row = mail_outbox::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(row.last_error.is_some());
    assert!(
        row.next_attempt_at > now,
        "retried later, not in a hot loop"
    );
    assert!(
        row.subject.contains("Garage"),
        "rendered in Dutch: {}",
        row.subject
    );

    // Not due yet: no second attempt.
    assert_eq!(
        mailer
            .deliver_due(&db, now + Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    let row = mail_outbox::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, 1);
}

#[tokio::test]
async fn folder_transport_writes_an_eml_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = db().await;
    let cfg = Config {
        data_dir: dir.path().into(),
        ..Config::default()
    };
    let mailer = Mailer::new(&cfg).unwrap();
    let now = Utc::now();
    let id = mailer
        .enqueue(&db, now, None, "ann@garage.be", "invitation", "en", &ctx())
        .await
        .unwrap();
    assert_eq!(mailer.deliver_due(&db, now).await.unwrap(), 1);
    assert_eq!(
        mailer.deliver_due(&db, now).await.unwrap(),
        0,
        "sent mail is not sent again"
    );
    let row = mail_outbox::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "sent");
    let files: Vec<_> = std::fs::read_dir(cfg.outbox_dir()).unwrap().collect();
    assert_eq!(files.len(), 1);
}
