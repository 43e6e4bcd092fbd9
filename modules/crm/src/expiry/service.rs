//! The expiry rule (seed 004): an open opportunity created more than `period_days` ago whose
//! status is not exempt is expired. The flag is the system's: evaluated by a sweep that every
//! node runs periodically, claiming each tenant so two nodes never sweep one tenant at once,
//! and by `forecourt jobs expire --as-of DATE`. Time always comes from the caller.

use crate::{
    expiry::entities::{job_claim, tenant_setting},
    opportunities::{entities::opportunity, service::statuses},
};
use chrono::{DateTime, Duration, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result, activity,
    ports::statuses::{FixedStatuses, StatusEntity, StatusSet},
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, prelude::Expr,
    sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// A tenant's expiry rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Object)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ExpirySettings {
    /// Age in days after which an open opportunity expires (default 56, eight weeks).
    pub period_days: u32,
    /// Statuses that never expire (default: taken in charge, sold not delivered, long-term
    /// follow-up).
    #[oai(validator(max_length = 64))]
    pub exempt_statuses: Vec<String>,
}

impl ExpirySettings {
    /// The rule of a tenant that set none: eight weeks, and the statuses its status set
    /// exempts.
    pub fn default_for(statuses: &StatusSet) -> Self {
        Self {
            period_days: 56,
            exempt_statuses: statuses.exempt_keys(),
        }
    }

    /// Checks the values against the tenant's statuses.
    pub fn validate(&self, statuses: &StatusSet) -> Result<()> {
        if !(1..=3650).contains(&self.period_days) {
            return Err(Error::invalid(
                "period_days",
                msg!("between 1 and 3650 days"),
            ));
        }
        for (i, s) in self.exempt_statuses.iter().enumerate() {
            if statuses.get(s).is_none() || statuses.kind(s).is_closed() {
                return Err(Error::invalid(
                    format!("exempt_statuses[{i}]"),
                    msg!("`{s}` is not an open status", s),
                ));
            }
        }
        Ok(())
    }

    /// Whether an opportunity is expired at `at` under this rule.
    pub fn is_expired(
        &self,
        statuses: &StatusSet,
        status: &str,
        created_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> bool {
        !statuses.kind(status).is_closed()
            && !self.exempt_statuses.iter().any(|s| s == status)
            && created_at < at - Duration::days(i64::from(self.period_days))
    }
}

const KEY: &str = "expiry";

/// The tenant's rule (the defaults until an admin sets one).
pub async fn settings(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    statuses: &StatusSet,
) -> Result<ExpirySettings> {
    let row = tenant_setting::Entity::scoped(t)
        .filter(tenant_setting::Column::Key.eq(KEY))
        .one(conn)
        .await?;
    let mut rule = row
        .and_then(|r| serde_json::from_value::<ExpirySettings>(r.value).ok())
        .unwrap_or_else(|| ExpirySettings::default_for(statuses));
    // With the tenant's own statuses their flags decide; the stored list is only what a
    // tenant without them chose.
    if statuses.is_tenants_own() {
        rule.exempt_statuses = statuses.exempt_keys();
    }
    Ok(rule)
}

/// Changes the tenant's rule for the caller of `cx`; answers the rule stored.
pub async fn change(app: &App, cx: &Cx, s: ExpirySettings) -> Result<ExpirySettings> {
    let mut uow = Uow::begin(app, cx).await?;
    let statuses = statuses(app, uow.txn().into(), cx).await?;
    s.validate(&statuses)?;
    let before = settings(uow.txn(), cx, &statuses).await?;
    // The statuses module keeps the flags; the stored rule then keeps only the period.
    if let Some(changed) = app
        .ports
        .statuses
        .set_exempt(
            app,
            uow.txn(),
            cx.tenant(),
            StatusEntity::Opportunity,
            &s.exempt_statuses,
        )
        .await?
    {
        uow.after_commit(AfterCommit::Bump(changed));
    }
    tenant_setting::Entity::insert(tenant_setting::ActiveModel {
        tenant_id: Set(cx.tenant().uuid()),
        key: Set(KEY.into()),
        value: Set(serde_json::to_value(&s).map_err(Error::internal)?),
        updated_at: Set(uow.now()),
    })
    .on_conflict(
        OnConflict::columns([
            tenant_setting::Column::TenantId,
            tenant_setting::Column::Key,
        ])
        .update_columns([
            tenant_setting::Column::Value,
            tenant_setting::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(uow.txn())
    .await?;
    uow.record(
        Activity::new("settings", cx.tenant().uuid(), "expiry_changed")
            .changes(activity::diff(&json!(before), &json!(s))),
    )
    .await?;
    uow.commit().await?;
    Ok(s)
}

/// Evaluates the rule at `at` for every open opportunity of the tenant; returns how many are
/// expired afterwards. Closed opportunities keep the flag they had.
pub async fn expire(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    statuses: &StatusSet,
    at: DateTime<Utc>,
) -> Result<u64> {
    let rule = settings(conn, t, statuses).await?;
    let cutoff = at - Duration::days(i64::from(rule.period_days));
    let closed: Vec<&str> = statuses
        .keys()
        .filter(|k| statuses.kind(k).is_closed())
        .collect();
    let open = opportunity::Column::Status.is_not_in(closed);
    let expiring = sea_orm::Condition::all()
        .add(opportunity::Column::CreatedAt.lt(cutoff))
        .add(opportunity::Column::Status.is_not_in(rule.exempt_statuses.clone()));
    let set = opportunity::Entity::update_in(t)
        .col_expr(opportunity::Column::Expired, Expr::value(true))
        .filter(open.clone())
        .filter(expiring.clone())
        .exec(conn)
        .await?;
    opportunity::Entity::update_in(t)
        .col_expr(opportunity::Column::Expired, Expr::value(false))
        .filter(open)
        .filter(expiring.not())
        .exec(conn)
        .await?;
    Ok(set.rows_affected)
}

/// [`expire`] for callers holding only a connection (tests, tools): the tenant `tenant_id`
/// with the fixed opportunity statuses.
pub async fn sweep_tenant(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    at: DateTime<Utc>,
) -> Result<u64> {
    let statuses = FixedStatuses::set(StatusEntity::Opportunity);
    expire(conn, &TenantId::new(tenant_id), &statuses, at).await
}

/// Sweeps one tenant as the system job `expiry-sweep`, in one unit of work.
async fn sweep(app: &App, t: TenantId, at: DateTime<Utc>) -> Result<u64> {
    let uow = Uow::system(app, t, "expiry-sweep").await?;
    let statuses = statuses(app, uow.txn().into(), &t).await?;
    let n = expire(uow.txn(), &t, &statuses, at).await?;
    uow.commit().await?;
    Ok(n)
}

/// Claims `job` for a tenant until `until`; `false` when another node holds a live claim.
pub async fn claim(
    conn: &impl ConnectionTrait,
    t: TenantId,
    job: &str,
    node: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let inserted = job_claim::Entity::insert(job_claim::ActiveModel {
        tenant_id: Set(t.uuid()),
        job: Set(job.into()),
        claimed_by: Set(node.into()),
        claimed_until: Set(until),
        last_run_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([job_claim::Column::TenantId, job_claim::Column::Job])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    if inserted == 1 {
        return Ok(true);
    }
    // Only one node's conditional update can take an expired claim.
    let taken = job_claim::Entity::update_in(&t)
        .col_expr(job_claim::Column::ClaimedBy, Expr::value(node))
        .col_expr(job_claim::Column::ClaimedUntil, Expr::value(until))
        .filter(job_claim::Column::Job.eq(job))
        .filter(job_claim::Column::ClaimedUntil.lt(now))
        .exec(conn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Releases a claim after a run.
pub async fn release(
    conn: &impl ConnectionTrait,
    t: TenantId,
    job: &str,
    node: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    job_claim::Entity::update_in(&t)
        .col_expr(job_claim::Column::ClaimedUntil, Expr::value(now))
        .col_expr(job_claim::Column::LastRunAt, Expr::value(now))
        .filter(job_claim::Column::Job.eq(job))
        .filter(job_claim::Column::ClaimedBy.eq(node))
        .exec(conn)
        .await?;
    Ok(())
}

/// Sweeps every tenant this node can claim, evaluating the rule at `at`; returns
/// `(tenants swept, opportunities expired)`.
pub async fn sweep_all(app: &App, node: &str, at: DateTime<Utc>) -> Result<(usize, u64)> {
    let tenants = app.ports.directory.tenants((&app.db).into()).await?;
    let (mut swept, mut expired) = (0, 0);
    for t in tenants {
        let now = app.clock.now();
        if !claim(&app.db, t, "expiry", node, now, now + Duration::minutes(10)).await? {
            continue;
        }
        let outcome = sweep(app, t, at).await;
        release(&app.db, t, "expiry", node, app.clock.now()).await?;
        expired += outcome?;
        swept += 1;
    }
    Ok((swept, expired))
}

/// Runs the sweep on this node every `every`, at the clock's current time.
pub fn spawn_sweeper(app: std::sync::Arc<App>, every: std::time::Duration) {
    let node = Uuid::now_v7().to_string();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep_all(&app, &node, app.clock.now()).await {
                Ok((t, n)) => tracing::info!(tenants = t, expired = n, "expiry sweep"),
                Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_rule_at_several_dates() {
        let statuses = FixedStatuses::set(StatusEntity::Opportunity);
        let rule = ExpirySettings::default_for(&statuses);
        let created = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
        let day = |d: i64| created + Duration::days(d);
        assert!(
            !rule.is_expired(&statuses, "new", created, day(56)),
            "exactly eight weeks: not yet"
        );
        assert!(rule.is_expired(&statuses, "new", created, day(57)));
        assert!(rule.is_expired(&statuses, "offer_sent", created, day(100)));
        assert!(
            !rule.is_expired(&statuses, "taken_in_charge", created, day(100)),
            "exempt"
        );
        assert!(
            !rule.is_expired(&statuses, "long_term_follow_up", created, day(400)),
            "exempt"
        );
        assert!(
            !rule.is_expired(&statuses, "won", created, day(100)),
            "closed"
        );
        let custom = ExpirySettings {
            period_days: 7,
            exempt_statuses: vec![],
        };
        assert!(custom.is_expired(&statuses, "taken_in_charge", created, day(8)));
        assert!(
            ExpirySettings {
                period_days: 0,
                exempt_statuses: vec![]
            }
            .validate(&statuses)
            .is_err()
        );
        assert!(
            ExpirySettings {
                period_days: 5,
                exempt_statuses: vec!["won".into()]
            }
            .validate(&statuses)
            .is_err()
        );
    }
}
