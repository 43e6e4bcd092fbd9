//! The table of keys and its state rules: who holds a key, what a request may do with it, the
//! answer kept for it, and the purge of expired keys.

use super::{KEPT_FOR, LOCK_TIMEOUT, PURGE_EVERY};
use crate::{App, Result};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, prelude::Expr,
    sea_query::OnConflict,
};
use std::sync::Arc;
use uuid::Uuid;

/// The table of keys (migration `m0017_idempotency`). Not a tenant table: platform accounts
/// send keys too. The tenant is part of `principal`, taken from the authenticated caller
/// only, and `tenant_id` lets the tenant's rows go with it.
mod record {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub principal: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub idem_key: String,
        pub tenant_id: Option<Uuid>,
        pub fingerprint: String,
        /// The run that holds the key: only it may keep an answer or release the key.
        pub owner: Uuid,
        /// `None` while the run is in progress.
        pub status: Option<i32>,
        /// The kept answer headers, a JSON array of `[name, value]`.
        pub headers: Option<String>,
        pub body: Option<Vec<u8>>,
        pub created_at: DateTimeUtc,
        pub locked_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use record::Column as C;

/// A request's key: whose it is, and the fingerprint of what it asks.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// `tenant:<tenant>:user:<user>` or `platform:<user>`, from the authenticated principal.
    pub principal: String,
    /// The principal's tenant, if any.
    pub tenant_id: Option<Uuid>,
    /// The key as sent.
    pub key: String,
    /// SHA-256 of method, request target and body.
    pub fingerprint: String,
}

/// An answer kept for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The headers a client needs (type, location, entity tag), as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// The body, as sent.
    pub body: Vec<u8>,
}

/// What a request with a key may do.
#[derive(Debug)]
pub enum Claim {
    /// Run: this request holds the key under this owner id.
    Run(Uuid),
    /// Send the kept answer again.
    Replay(Answer),
    /// Another request holds the key: 409.
    Busy,
    /// The key was used for another request: 422.
    Reused,
}

/// What a stored row means for a request with `fingerprint` at `now` (the state rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The row is expired, or its run was abandoned: take it over.
    Vacant,
    Replay,
    Busy,
    Reused,
}

fn judge(row: &record::Model, fingerprint: &str, now: DateTime<Utc>) -> Verdict {
    if now - row.created_at >= KEPT_FOR {
        // An expired key is as good as unused, whatever it was used for.
        return Verdict::Vacant;
    }
    if row.fingerprint != fingerprint {
        return Verdict::Reused;
    }
    match row.status {
        Some(_) => Verdict::Replay,
        None if now - row.locked_at >= LOCK_TIMEOUT => Verdict::Vacant,
        None => Verdict::Busy,
    }
}

/// Claims the key for this request, or says why not. The insert is the lock: of racing
/// requests exactly one inserts; the others read the row. A vacant row is taken over by a
/// conditional update on its owner, which again only one request wins.
pub async fn claim(db: &impl ConnectionTrait, k: &Keyed, now: DateTime<Utc>) -> Result<Claim> {
    // A row can vanish (released) or change hands between our statements: look again, a few
    // times; a key that keeps changing hands is busy.
    for _ in 0..3 {
        let owner = Uuid::now_v7();
        let inserted = record::Entity::insert(record::ActiveModel {
            principal: Set(k.principal.clone()),
            idem_key: Set(k.key.clone()),
            tenant_id: Set(k.tenant_id),
            fingerprint: Set(k.fingerprint.clone()),
            owner: Set(owner),
            status: Set(None),
            headers: Set(None),
            body: Set(None),
            created_at: Set(now),
            locked_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([C::Principal, C::IdemKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            return Ok(Claim::Run(owner));
        }
        let Some(row) = record::Entity::find_by_id((k.principal.clone(), k.key.clone()))
            .one(db)
            .await?
        else {
            continue;
        };
        match judge(&row, &k.fingerprint, now) {
            Verdict::Replay => return Ok(Claim::Replay(answer(row))),
            Verdict::Reused => return Ok(Claim::Reused),
            Verdict::Busy => return Ok(Claim::Busy),
            Verdict::Vacant => {
                let taken = mine(k, row.owner)
                    .col_expr(C::Owner, Expr::value(owner))
                    .col_expr(C::Fingerprint, Expr::value(k.fingerprint.clone()))
                    .col_expr(C::Status, Expr::value(Option::<i32>::None))
                    .col_expr(C::Headers, Expr::value(Option::<String>::None))
                    .col_expr(C::Body, Expr::value(Option::<Vec<u8>>::None))
                    .col_expr(C::CreatedAt, Expr::value(now))
                    .col_expr(C::LockedAt, Expr::value(now))
                    .exec(db)
                    .await?;
                if taken.rows_affected == 1 {
                    return Ok(Claim::Run(owner));
                }
            }
        }
    }
    Ok(Claim::Busy)
}

/// The answer a finished row keeps.
fn answer(row: record::Model) -> Answer {
    Answer {
        status: row
            .status
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200),
        headers: row
            .headers
            .and_then(|h| serde_json::from_str(&h).ok())
            .unwrap_or_default(),
        body: row.body.unwrap_or_default(),
    }
}

/// An update of the key's row while `owner` holds it.
fn mine(k: &Keyed, owner: Uuid) -> sea_orm::UpdateMany<record::Entity> {
    record::Entity::update_many()
        .filter(C::Principal.eq(k.principal.clone()))
        .filter(C::IdemKey.eq(k.key.clone()))
        .filter(C::Owner.eq(owner))
}

/// Renews `owner`'s hold on the key at `now`.
pub async fn renew(
    db: &impl ConnectionTrait,
    k: &Keyed,
    owner: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    mine(k, owner)
        .col_expr(C::LockedAt, Expr::value(now))
        .exec(db)
        .await?;
    Ok(())
}

/// Keeps `answer` for the key; false when `owner` no longer holds it (taken over after a stall
/// longer than [`LOCK_TIMEOUT`]).
pub async fn keep(
    db: &impl ConnectionTrait,
    k: &Keyed,
    owner: Uuid,
    answer: &Answer,
) -> Result<bool> {
    let headers = serde_json::to_string(&answer.headers).unwrap_or_else(|_| "[]".into());
    let kept = mine(k, owner)
        .col_expr(C::Status, Expr::value(i32::from(answer.status)))
        .col_expr(C::Headers, Expr::value(headers))
        .col_expr(C::Body, Expr::value(answer.body.clone()))
        .exec(db)
        .await?;
    Ok(kept.rows_affected == 1)
}

/// Frees the key so that a retry runs again.
pub async fn release(db: &impl ConnectionTrait, k: &Keyed, owner: Uuid) -> Result<()> {
    record::Entity::delete_many()
        .filter(C::Principal.eq(k.principal.clone()))
        .filter(C::IdemKey.eq(k.key.clone()))
        .filter(C::Owner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the keys older than [`KEPT_FOR`] at `now`; returns how many.
pub async fn purge(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    Ok(record::Entity::delete_many()
        .filter(C::CreatedAt.lt(now - KEPT_FOR))
        .exec(db)
        .await?
        .rows_affected)
}

/// Purges expired keys every [`PURGE_EVERY`] on this node. Nodes may purge at once: the delete
/// is the same on every one. Expired keys are ignored on lookup anyway; this keeps the table
/// to about one day's keys.
pub fn spawn_purger(app: Arc<App>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = purge(&app.db, app.clock.now()).await {
                tracing::warn!(error = %e, "idempotency key purge failed");
            }
            tokio::time::sleep(PURGE_EVERY).await;
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at() -> DateTime<Utc> {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn row(fingerprint: &str, status: Option<i32>, age: i64, lock_age: i64) -> record::Model {
        record::Model {
            principal: "tenant:t:user:u".into(),
            idem_key: "k".into(),
            tenant_id: None,
            fingerprint: fingerprint.into(),
            owner: Uuid::now_v7(),
            status,
            headers: None,
            body: None,
            created_at: at() - TimeDelta::seconds(age),
            locked_at: at() - TimeDelta::seconds(lock_age),
        }
    }

    #[test]
    fn state_rules() {
        let now = at();
        // Done, same request: replay; another request: reused.
        assert_eq!(
            judge(&row("f", Some(201), 10, 10), "f", now),
            Verdict::Replay
        );
        assert_eq!(
            judge(&row("f", Some(201), 10, 10), "g", now),
            Verdict::Reused
        );
        // Running: busy until the lock times out, then vacant.
        assert_eq!(judge(&row("f", None, 10, 10), "f", now), Verdict::Busy);
        assert_eq!(judge(&row("f", None, 120, 59), "f", now), Verdict::Busy);
        assert_eq!(judge(&row("f", None, 120, 60), "f", now), Verdict::Vacant);
        // A running row with another request is reused either way.
        assert_eq!(judge(&row("f", None, 120, 120), "g", now), Verdict::Reused);
        // Expired after 24 hours: vacant, whatever it held.
        let day = KEPT_FOR.num_seconds();
        assert_eq!(
            judge(&row("f", Some(201), day - 1, day), "f", now),
            Verdict::Replay
        );
        assert_eq!(
            judge(&row("f", Some(201), day, day), "g", now),
            Verdict::Vacant
        );
        assert_eq!(judge(&row("f", None, day, 1), "f", now), Verdict::Vacant);
    }

    fn keyed(principal: &str, fingerprint: &str) -> Keyed {
        Keyed {
            principal: principal.into(),
            tenant_id: None,
            key: "key-1".into(),
            fingerprint: fingerprint.into(),
        }
    }

    #[tokio::test]
    async fn claims_race_takeover_and_purge_on_the_database() {
        let db = forecourt_migrations::testing::scratch_sqlite()
            .await
            .unwrap();
        let now = at();
        let a = keyed("platform:a", "f");
        let Claim::Run(owner) = claim(&db, &a, now).await.unwrap() else {
            panic!("the first request runs")
        };
        assert!(matches!(claim(&db, &a, now).await.unwrap(), Claim::Busy));
        assert!(matches!(
            claim(&db, &keyed("platform:a", "g"), now).await.unwrap(),
            Claim::Reused
        ));
        // Another principal's same key is its own.
        assert!(matches!(
            claim(&db, &keyed("platform:b", "g"), now).await.unwrap(),
            Claim::Run(_)
        ));
        // Renewed, the hold outlasts the lock timeout from its start.
        renew(&db, &a, owner, now + LOCK_TIMEOUT / 2).await.unwrap();
        assert!(matches!(
            claim(&db, &a, now + LOCK_TIMEOUT).await.unwrap(),
            Claim::Busy
        ));
        // The holder went silent: after the lock timeout, one request takes the key over and
        // the old holder can no longer keep an answer under it.
        let later = now + LOCK_TIMEOUT * 2;
        let Claim::Run(second) = claim(&db, &a, later).await.unwrap() else {
            panic!("an abandoned key is taken over")
        };
        assert_ne!(owner, second);
        assert!(matches!(claim(&db, &a, later).await.unwrap(), Claim::Busy));
        let created = Answer {
            status: 201,
            headers: vec![("etag".into(), "\"1\"".into())],
            body: b"{\"id\":1}".to_vec(),
        };
        assert!(!keep(&db, &a, owner, &created).await.unwrap());
        assert!(keep(&db, &a, second, &created).await.unwrap());
        match claim(&db, &a, later).await.unwrap() {
            Claim::Replay(kept) => assert_eq!(kept, created),
            other => panic!("not a replay: {other:?}"),
        }
        // A released key runs again.
        let b = keyed("platform:b", "g");
        let Claim::Run(held) = claim(&db, &b, later).await.unwrap() else {
            panic!("b's key is vacant after its lock timed out")
        };
        release(&db, &b, held).await.unwrap();
        assert!(matches!(
            claim(&db, &b, later).await.unwrap(),
            Claim::Run(_)
        ));
        // A day later both are purged.
        assert_eq!(purge(&db, later + KEPT_FOR).await.unwrap(), 0);
        assert_eq!(
            purge(&db, later + KEPT_FOR + TimeDelta::seconds(1))
                .await
                .unwrap(),
            2
        );
    }
}
