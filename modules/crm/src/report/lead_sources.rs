//! The counts behind the lead-source report ([`OpportunityFacts`]): one grouped statement
//! over the opportunities, pinned to the caller's tenant and reach, with won and lost decided
//! by the statuses port rather than by status keys written here.

use crate::opportunities::{entities::opportunity, service::reach};
use forecourt_core::{
    App, Result,
    access::Scope,
    context::TenantUser,
    ports::{
        opportunity_facts::{CreatedWithin, LeadSourceCount, LeadSplit, OpportunityFacts},
        statuses::{StatusEntity, StatusKind},
    },
    tenancy::{Cx, Tenanted},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseExecutor, QueryResult,
    sea_query::{CaseStatement, Expr, Func, Query, SelectStatement},
};

/// The CRM's answer to [`OpportunityFacts`].
pub struct OpportunityReports;

/// `COALESCE(SUM(CASE WHEN status IN (<keys>) THEN 1 ELSE 0 END), 0)`. The literals are
/// 32-bit so PostgreSQL sums into a BIGINT, as SQLite does.
fn count_statuses(keys: Vec<String>) -> Expr {
    let case: Expr = CaseStatement::new()
        .case(opportunity::Column::Status.is_in(keys), Expr::val(1i32))
        .finally(Expr::val(0i32))
        .into();
    Func::coalesce([Func::sum(case).into(), Expr::val(0i32)]).into()
}

/// The statement:
///
/// ```sql
/// SELECT source_id, [establishment_id,] [assigned_user_id AS user_id,] COUNT(id) AS leads,
///        COALESCE(SUM(CASE WHEN status IN (<won>) THEN 1 ELSE 0 END), 0) AS won, … AS lost
/// FROM opportunities
/// WHERE tenant_id = $tenant AND <period> AND <reach>
/// GROUP BY source_id [, establishment_id] [, assigned_user_id]
/// ```
pub fn statement(
    user: &TenantUser,
    scope: Scope,
    within: CreatedWithin,
    split: LeadSplit,
    won: Vec<String>,
    lost: Vec<String>,
) -> SelectStatement {
    let mut q = Query::select();
    q.from(opportunity::Entity)
        .expr_as(Expr::col(opportunity::Column::SourceId), "source_id")
        .group_by_col(opportunity::Column::SourceId);
    if split.establishment {
        q.expr_as(
            Expr::col(opportunity::Column::EstablishmentId),
            "establishment_id",
        )
        .group_by_col(opportunity::Column::EstablishmentId);
    }
    if split.user {
        q.expr_as(Expr::col(opportunity::Column::AssignedUserId), "user_id")
            .group_by_col(opportunity::Column::AssignedUserId);
    }
    q.expr_as(Func::count(Expr::col(opportunity::Column::Id)), "leads")
        .expr_as(count_statuses(won), "won")
        .expr_as(count_statuses(lost), "lost")
        .and_where(opportunity::Column::TenantId.eq(user.tenant_id))
        .cond_where(reach(user, scope));
    if let Some(from) = within.from {
        q.and_where(opportunity::Column::CreatedAt.gte(from));
    }
    if let Some(before) = within.before {
        q.and_where(opportunity::Column::CreatedAt.lt(before));
    }
    q
}

fn decode(r: &QueryResult, split: LeadSplit) -> Result<LeadSourceCount> {
    Ok(LeadSourceCount {
        source_id: r.try_get("", "source_id")?,
        establishment_id: if split.establishment {
            r.try_get("", "establishment_id")?
        } else {
            None
        },
        user_id: if split.user {
            r.try_get("", "user_id")?
        } else {
            None
        },
        leads: r.try_get("", "leads")?,
        won: r.try_get("", "won")?,
        lost: r.try_get("", "lost")?,
    })
}

/// The same connection, borrowed again: the statuses are read on it before the counts.
fn again<'a>(db: &'a DatabaseExecutor<'_>) -> DatabaseExecutor<'a> {
    match db {
        DatabaseExecutor::Connection(c) => DatabaseExecutor::Connection(c),
        DatabaseExecutor::Transaction(t) => DatabaseExecutor::Transaction(t),
        DatabaseExecutor::OwnedTransaction(t) => DatabaseExecutor::Transaction(t),
    }
}

#[async_trait::async_trait]
impl OpportunityFacts<App> for OpportunityReports {
    async fn lead_source_counts(
        &self,
        app: &App,
        db: DatabaseExecutor<'_>,
        cx: &Cx,
        within: CreatedWithin,
        split: LeadSplit,
    ) -> Result<Vec<LeadSourceCount>> {
        let statuses = app
            .ports
            .statuses
            .of(app, again(&db), cx.tenant(), StatusEntity::Opportunity)
            .await?;
        let q = statement(
            cx.user(),
            cx.scope(),
            within,
            split,
            statuses.keys_of(StatusKind::Won),
            statuses.keys_of(StatusKind::Lost),
        );
        db.query_all(&q)
            .await?
            .iter()
            .map(|r| decode(r, split))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
    use uuid::Uuid;

    fn user() -> TenantUser {
        TenantUser {
            tenant_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            establishment_id: Some(Uuid::now_v7()),
            team_ids: vec![],
        }
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn statement_pins_the_tenant_and_groups_once() {
        let u = user();
        let within = CreatedWithin {
            from: Some(chrono::Utc::now()),
            before: Some(chrono::Utc::now()),
        };
        let by_source = statement(
            &u,
            Scope::Own,
            within,
            LeadSplit::default(),
            keys(&["won"]),
            keys(&["lost"]),
        );
        let sql = by_source.to_string(PostgresQueryBuilder);
        assert!(sql.contains(r#"FROM "opportunities""#), "{sql}");
        assert!(sql.contains(r#"GROUP BY "source_id""#), "{sql}");
        assert!(!sql.contains("UNION"), "{sql}");
        assert!(!sql.contains("JOIN"), "{sql}");
        assert!(sql.contains(r#""status" IN ('won')"#), "{sql}");
        assert_eq!(sql.matches(&u.tenant_id.to_string()).count(), 1, "{sql}");
        assert_eq!(sql.matches(&u.user_id.to_string()).count(), 1, "{sql}");
        assert!(
            by_source
                .to_string(SqliteQueryBuilder)
                .contains(r#""created_at" <"#)
        );

        let split = statement(
            &u,
            Scope::Tenant,
            CreatedWithin::default(),
            LeadSplit {
                establishment: true,
                user: true,
            },
            keys(&["won"]),
            keys(&["lost"]),
        );
        let sql = split.to_string(PostgresQueryBuilder);
        assert!(
            sql.contains(r#"GROUP BY "source_id", "establishment_id", "assigned_user_id""#),
            "{sql}"
        );
        assert_eq!(sql.matches(&u.user_id.to_string()).count(), 0, "{sql}");
    }

    #[test]
    fn scope_mirrors_the_opportunity_list() {
        let u = user();
        let sql = |scope| {
            statement(
                &u,
                scope,
                CreatedWithin::default(),
                LeadSplit {
                    establishment: true,
                    user: false,
                },
                keys(&["won"]),
                keys(&["lost"]),
            )
            .to_string(PostgresQueryBuilder)
        };
        let est = u.establishment_id.unwrap().to_string();
        assert!(sql(Scope::Establishment).contains(&est));
        assert!(sql(Scope::Establishment).contains(&u.user_id.to_string()));
        assert!(!sql(Scope::Own).contains(&est));
        assert!(sql(Scope::Own).contains(&u.user_id.to_string()));
        assert!(!sql(Scope::Tenant).contains(&u.user_id.to_string()));
    }

    #[test]
    fn no_key_of_a_kind_counts_nothing() {
        let sql = statement(
            &user(),
            Scope::Tenant,
            CreatedWithin::default(),
            LeadSplit::default(),
            vec![],
            keys(&["lost"]),
        )
        .to_string(SqliteQueryBuilder);
        assert!(sql.contains("1 = 2"), "{sql}");
    }
}
