//! The expiry rule (seed 004): an open opportunity created more than `period_days` ago whose
//! status is not exempt is expired. The flag is the system's: evaluated by a sweep that every
//! node runs periodically, claiming each tenant so two nodes never sweep one tenant at once,
//! and by `forecourt jobs expire --as-of DATE`. Time always comes from the caller.

use crate::{
    expiry::entities::job_claim, expiry::entities::tenant_setting,
    opportunities::entities::opportunity,
};
use chrono::{DateTime, Duration, Utc};
use forecourt_core::{App, Error, Result};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, prelude::Expr,
    sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Opportunity statuses every tenant has, in their usual order.
pub const STATUSES: &[&str] = &[
    "new",
    "taken_in_charge",
    "offer_sent",
    "sold_not_delivered",
    "long_term_follow_up",
    "won",
    "lost",
];

/// Statuses that close an opportunity, for queries (`status NOT IN ...`); the same ones
/// [`StatusKind::of`] calls closed.
pub const CLOSED: &[&str] = &["won", "lost"];

/// What a status means for an opportunity's life. Rules about closed opportunities ask this,
/// never a status key, so the `statuses` module can later give tenants their own statuses of
/// each kind by answering it from their configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Still worked on.
    Open,
    /// Closed: sold.
    Won,
    /// Closed: lost, with a reason.
    Lost,
}

impl StatusKind {
    /// The kind of a status key. Unknown keys count as open: status changes check the key
    /// against [`STATUSES`] before asking.
    pub fn of(status: &str) -> Self {
        match status {
            "won" => StatusKind::Won,
            "lost" => StatusKind::Lost,
            _ => StatusKind::Open,
        }
    }

    /// Whether this kind closes the opportunity.
    pub fn is_closed(self) -> bool {
        self != StatusKind::Open
    }
}

/// Whether an opportunity in `status` is closed: the one test every closed rule uses.
pub fn is_closed(status: &str) -> bool {
    StatusKind::of(status).is_closed()
}

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

impl Default for ExpirySettings {
    fn default() -> Self {
        Self {
            period_days: 56,
            exempt_statuses: vec![
                "taken_in_charge".into(),
                "sold_not_delivered".into(),
                "long_term_follow_up".into(),
            ],
        }
    }
}

impl ExpirySettings {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if !(1..=3650).contains(&self.period_days) {
            return Err(Error::invalid("period_days", "between 1 and 3650 days"));
        }
        for (i, s) in self.exempt_statuses.iter().enumerate() {
            if !STATUSES.contains(&s.as_str()) || is_closed(s) {
                return Err(Error::invalid(
                    format!("exempt_statuses[{i}]"),
                    format!("`{s}` is not an open status"),
                ));
            }
        }
        Ok(())
    }

    /// Whether an opportunity is expired at `at` under this rule.
    pub fn is_expired(&self, status: &str, created_at: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        !is_closed(status)
            && !self.exempt_statuses.iter().any(|s| s == status)
            && created_at < at - Duration::days(i64::from(self.period_days))
    }
}

const KEY: &str = "expiry";

/// The tenant's rule (the defaults until an admin sets one).
pub async fn settings(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<ExpirySettings> {
    let row = tenant_setting::Entity::find_by_id((tenant_id, KEY.to_string()))
        .one(conn)
        .await?;
    Ok(row
        .and_then(|r| serde_json::from_value(r.value).ok())
        .unwrap_or_default())
}

/// Stores the tenant's rule.
pub async fn save(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    s: &ExpirySettings,
    now: DateTime<Utc>,
) -> Result<()> {
    tenant_setting::Entity::insert(tenant_setting::ActiveModel {
        tenant_id: Set(tenant_id),
        key: Set(KEY.into()),
        value: Set(serde_json::to_value(s).map_err(Error::internal)?),
        updated_at: Set(now),
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
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Evaluates the rule at `at` for every open opportunity of the tenant; returns how many are
/// expired afterwards. Closed opportunities keep the flag they had.
pub async fn sweep_tenant(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    at: DateTime<Utc>,
) -> Result<u64> {
    let rule = settings(conn, tenant_id).await?;
    let cutoff = at - Duration::days(i64::from(rule.period_days));
    let open = opportunity::Column::Status.is_not_in(CLOSED.iter().copied());
    let expiring = sea_orm::Condition::all()
        .add(opportunity::Column::CreatedAt.lt(cutoff))
        .add(opportunity::Column::Status.is_not_in(rule.exempt_statuses.clone()));
    let set = opportunity::Entity::update_many()
        .col_expr(opportunity::Column::Expired, Expr::value(true))
        .filter(opportunity::Column::TenantId.eq(tenant_id))
        .filter(open.clone())
        .filter(expiring.clone())
        .exec(conn)
        .await?;
    opportunity::Entity::update_many()
        .col_expr(opportunity::Column::Expired, Expr::value(false))
        .filter(opportunity::Column::TenantId.eq(tenant_id))
        .filter(open)
        .filter(expiring.not())
        .exec(conn)
        .await?;
    Ok(set.rows_affected)
}

/// Claims `job` for a tenant until `until`; `false` when another node holds a live claim.
pub async fn claim(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    job: &str,
    node: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let inserted = job_claim::Entity::insert(job_claim::ActiveModel {
        tenant_id: Set(tenant_id),
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
    let taken = job_claim::Entity::update_many()
        .col_expr(job_claim::Column::ClaimedBy, Expr::value(node))
        .col_expr(job_claim::Column::ClaimedUntil, Expr::value(until))
        .filter(job_claim::Column::TenantId.eq(tenant_id))
        .filter(job_claim::Column::Job.eq(job))
        .filter(job_claim::Column::ClaimedUntil.lt(now))
        .exec(conn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Releases a claim after a run.
pub async fn release(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    job: &str,
    node: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    job_claim::Entity::update_many()
        .col_expr(job_claim::Column::ClaimedUntil, Expr::value(now))
        .col_expr(job_claim::Column::LastRunAt, Expr::value(now))
        .filter(job_claim::Column::TenantId.eq(tenant_id))
        .filter(job_claim::Column::Job.eq(job))
        .filter(job_claim::Column::ClaimedBy.eq(node))
        .exec(conn)
        .await?;
    Ok(())
}

/// Sweeps every tenant this node can claim, evaluating the rule at `at`; returns
/// `(tenants swept, opportunities expired)`.
pub async fn sweep_all(app: &App, node: &str, at: DateTime<Utc>) -> Result<(usize, u64)> {
    let tenants: Vec<Uuid> = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM tenants",
        ))
        .await?
        .into_iter()
        .filter_map(|r| r.try_get::<Uuid>("", "id").ok())
        .collect();
    let (mut swept, mut expired) = (0, 0);
    for t in tenants {
        let now = app.clock.now();
        if !claim(&app.db, t, "expiry", node, now, now + Duration::minutes(10)).await? {
            continue;
        }
        let outcome = sweep_tenant(&app.db, t, at).await;
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
    fn the_closed_list_for_queries_agrees_with_the_kinds() {
        let closed: Vec<&str> = STATUSES.iter().copied().filter(|s| is_closed(s)).collect();
        assert_eq!(closed, CLOSED);
        assert_eq!(StatusKind::of("lost"), StatusKind::Lost);
        assert!(!is_closed("sold_not_delivered"));
    }

    #[test]
    fn the_rule_at_several_dates() {
        let rule = ExpirySettings::default();
        let created = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
        let day = |d: i64| created + Duration::days(d);
        assert!(
            !rule.is_expired("new", created, day(56)),
            "exactly eight weeks: not yet"
        );
        assert!(rule.is_expired("new", created, day(57)));
        assert!(rule.is_expired("offer_sent", created, day(100)));
        assert!(
            !rule.is_expired("taken_in_charge", created, day(100)),
            "exempt"
        );
        assert!(
            !rule.is_expired("long_term_follow_up", created, day(400)),
            "exempt"
        );
        assert!(!rule.is_expired("won", created, day(100)), "closed");
        let custom = ExpirySettings {
            period_days: 7,
            exempt_statuses: vec![],
        };
        assert!(custom.is_expired("taken_in_charge", created, day(8)));
        assert!(
            ExpirySettings {
                period_days: 0,
                exempt_statuses: vec![]
            }
            .validate()
            .is_err()
        );
        assert!(
            ExpirySettings {
                period_days: 5,
                exempt_statuses: vec!["won".into()]
            }
            .validate()
            .is_err()
        );
    }
}
