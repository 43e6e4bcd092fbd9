//! The lead-source report: leads, won, lost and conversion per source, optionally per
//! establishment and per assigned user, over a period of creation dates.
//!
//! The counting happens in the database, in one statement, on table and column names: this
//! crate does not depend on `crm`, which owns the `opportunities` table. Every table of the
//! statement is pinned to the caller's tenant, and every join matches `tenant_id` on both sides.

use chrono::{DateTime, Days, NaiveDate, Utc};
use forecourt_core::{Error, Result, access::Scope, context::TenantUser};
use poem_openapi::{
    Enum, Object,
    registry::{MetaSchema, MetaSchemaRef},
    types::{MaybeUndefined, ParseFromParameter, ParseResult},
};
use sea_orm::{
    ConnectionTrait, QueryResult,
    sea_query::{
        Alias, CaseStatement, Condition, Expr, ExprTrait, Func, JoinType, Query, SelectStatement,
        UnionType,
    },
};
use std::{borrow::Cow, cmp::Ordering};
use uuid::Uuid;

/// Status keys that close an opportunity (every other status counts as open).
pub const WON: &str = "won";
/// See [`WON`].
pub const LOST: &str = "lost";

// Table aliases of the statement.
const O: &str = "o";
const S: &str = "s";
const E: &str = "e";
const U: &str = "u";

/// A dimension the lead-source report is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "LeadSourceReportDimension", rename_all = "snake_case")]
pub enum Dimension {
    /// The opportunity's lead source (always applied).
    Source,
    /// The opportunity's establishment.
    Establishment,
    /// The user the opportunity is assigned to.
    User,
}

/// How rows are split: always by source, and optionally by establishment and/or user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grouping {
    /// One row per source × establishment.
    pub establishment: bool,
    /// One row per source × assigned user.
    pub user: bool,
}

impl Grouping {
    /// Parses the `group_by` parameter: a comma-separated list of `source`, `establishment`,
    /// `user`, in any order, spaces around items ignored; absent or blank means `source`.
    pub fn parse(raw: Option<&str>) -> Result<Self> {
        let mut g = Grouping::default();
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(g);
        };
        for item in raw.split(',').map(str::trim) {
            match item {
                "source" => {}
                "establishment" => g.establishment = true,
                "user" => g.user = true,
                "" => {
                    return Err(Error::invalid(
                        "group_by",
                        "empty item in the list; use a comma-separated list of `source`, \
                         `establishment`, `user`",
                    ));
                }
                other => {
                    return Err(Error::invalid(
                        "group_by",
                        format!(
                            "unknown grouping `{other}`; use a comma-separated list of \
                             `source`, `establishment`, `user`"
                        ),
                    ));
                }
            }
        }
        Ok(g)
    }

    /// Whether rows are per source only.
    pub fn source_only(&self) -> bool {
        !self.establishment && !self.user
    }

    /// The dimensions applied, in row order.
    pub fn dimensions(&self) -> Vec<Dimension> {
        let mut d = vec![Dimension::Source];
        if self.establishment {
            d.push(Dimension::Establishment);
        }
        if self.user {
            d.push(Dimension::User);
        }
        d
    }
}

/// The creation dates counted: whole UTC days, both ends included, each end optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    /// First day counted, from 00:00 UTC.
    pub from: Option<NaiveDate>,
    /// Last day counted, through 23:59:59.999… UTC.
    pub to: Option<NaiveDate>,
}

/// Parses a `YYYY-MM-DD` parameter; blank means absent.
fn parse_day(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !str::is_empty(r)) else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        // chrono accepts `2025-1-5`; the contract is the zero-padded ISO 8601 form.
        .filter(|d| d.format("%Y-%m-%d").to_string() == raw)
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("`{raw}` is not a date; use YYYY-MM-DD, e.g. 2025-03-31"),
            )
        })
        // A year PostgreSQL's timestamps cannot hold would fail the query with a 500.
        .and_then(|d| forecourt_core::dates::day(field, d))
        .map(Some)
}

impl Period {
    /// Parses `from` and `to`; `from` after `to` is a 422 on `from`.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self> {
        let p = Period {
            from: parse_day("from", from)?,
            to: parse_day("to", to)?,
        };
        if let (Some(f), Some(t)) = (p.from, p.to)
            && f > t
        {
            return Err(Error::invalid(
                "from",
                format!("`from` ({f}) is after `to` ({t})"),
            ));
        }
        Ok(p)
    }

    /// The first instant counted.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.from
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    }

    /// The first instant no longer counted: midnight UTC after `to` (none after the last day
    /// chrono knows).
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.to
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    }
}

/// Accepts any text so the handler can validate it and name the field in the 422 (a
/// poem-openapi parse failure would not); documented as an ISO 8601 date.
#[derive(Debug, Clone)]
pub struct DateParam(pub String);

// `Type` stays unimported: its `is_empty` would shadow `str::is_empty` on `&&str`.
impl poem_openapi::types::Type for DateParam {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            example: Some(serde_json::json!("2025-03-31")),
            ..MetaSchema::new_with_format("string", "date")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for DateParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_string()))
    }
}

/// One group of leads as counted by the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    /// Source (`None`: leads without a source).
    pub source_id: Option<Uuid>,
    /// Its name.
    pub source_name: Option<String>,
    /// Establishment, when grouped by it.
    pub establishment_id: Option<Uuid>,
    /// Its name.
    pub establishment_name: Option<String>,
    /// Assigned user, when grouped by it.
    pub user_id: Option<Uuid>,
    /// Their name.
    pub user_name: Option<String>,
    /// Leads created in the period.
    pub leads: i64,
    /// Of which won.
    pub won: i64,
    /// Of which lost.
    pub lost: i64,
}

/// Which opportunities the caller may read, as the `crm` module decides it: own = assigned to
/// them; establishment = of their establishment or assigned to them; tenant = all.
fn reach(user: &TenantUser, scope: Scope) -> Condition {
    let mine = Expr::col((O, "assigned_user_id")).eq(user.user_id);
    match scope {
        Scope::Tenant => Condition::all(),
        Scope::Establishment => match user.establishment_id {
            Some(e) => Condition::any()
                .add(Expr::col((O, "establishment_id")).eq(e))
                .add(mine),
            None => Condition::all().add(mine),
        },
        Scope::Own => Condition::all().add(mine),
    }
}

/// The opportunities counted, beyond the tenant: created in the period and within reach.
fn counted(user: &TenantUser, scope: Scope, period: &Period) -> Condition {
    let mut c = Condition::all().add(reach(user, scope));
    if let Some(start) = period.start() {
        c = c.add(Expr::col((O, "created_at")).gte(start));
    }
    if let Some(end) = period.end() {
        c = c.add(Expr::col((O, "created_at")).lt(end));
    }
    c
}

/// `COALESCE(SUM(CASE WHEN o.status = <status> THEN 1 ELSE 0 END), 0)`. The literals are
/// 32-bit so PostgreSQL sums into a BIGINT, as SQLite does.
fn count_status(status: &'static str) -> Expr {
    let case: Expr = CaseStatement::new()
        .case(Expr::col((O, "status")).eq(status), Expr::val(1i32))
        .finally(Expr::val(0i32))
        .into();
    Func::coalesce([Func::sum(case).into(), Expr::val(0i32)]).into()
}

/// Selects `leads`, `won` and `lost` over the joined `o` rows.
fn select_counts(q: &mut SelectStatement) {
    q.expr_as(Func::count(Expr::col((O, "id"))), Alias::new("leads"))
        .expr_as(count_status(WON), Alias::new("won"))
        .expr_as(count_status(LOST), Alias::new("lost"));
}

/// The statement. Per source only, it starts from the tenant's sources so that sources that
/// brought nothing still get a row, and adds the leads without a source with `UNION ALL`:
///
/// ```sql
/// SELECT s.id AS source_id, s.name AS source_name, COUNT(o.id) AS leads,
///        COALESCE(SUM(CASE WHEN o.status = 'won' THEN 1 ELSE 0 END), 0) AS won, … AS lost
/// FROM lead_sources s
/// LEFT JOIN opportunities o ON o.tenant_id = s.tenant_id AND o.source_id = s.id
///                          AND <period> AND <scope>
/// WHERE s.tenant_id = $tenant
/// GROUP BY s.id, s.name, s.active
/// HAVING s.active = TRUE OR COUNT(o.id) > 0
/// UNION ALL
/// SELECT NULL, NULL, COUNT(o.id), … FROM opportunities o
/// WHERE o.tenant_id = $tenant AND o.source_id IS NULL AND <period> AND <scope>
/// ```
///
/// With establishment and/or user, it starts from the opportunities and left-joins the names:
///
/// ```sql
/// SELECT o.source_id, s.name AS source_name, o.establishment_id, e.name AS establishment_name,
///        o.assigned_user_id AS user_id, u.name AS user_name, COUNT(o.id) AS leads, …
/// FROM opportunities o
/// LEFT JOIN lead_sources s ON s.tenant_id = o.tenant_id AND s.id = o.source_id
/// LEFT JOIN establishments e ON e.tenant_id = o.tenant_id AND e.id = o.establishment_id
/// LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.assigned_user_id
/// WHERE o.tenant_id = $tenant AND <period> AND <scope>
/// GROUP BY o.source_id, s.name, o.establishment_id, e.name, o.assigned_user_id, u.name
/// ```
pub fn statement(
    user: &TenantUser,
    scope: Scope,
    period: &Period,
    grouping: Grouping,
) -> SelectStatement {
    let tenant = user.tenant_id;
    let mut q = Query::select();
    if grouping.source_only() {
        q.expr_as(Expr::col((S, "id")), Alias::new("source_id"))
            .expr_as(Expr::col((S, "name")), Alias::new("source_name"));
        select_counts(&mut q);
        q.from_as("lead_sources", S)
            .join_as(
                JoinType::LeftJoin,
                "opportunities",
                O,
                Condition::all()
                    .add(Expr::col((O, "tenant_id")).equals((S, "tenant_id")))
                    .add(Expr::col((O, "source_id")).equals((S, "id")))
                    .add(counted(user, scope, period)),
            )
            .and_where(Expr::col((S, "tenant_id")).eq(tenant))
            .group_by_col((S, "id"))
            .group_by_col((S, "name"))
            .group_by_col((S, "active"))
            .cond_having(
                Condition::any()
                    .add(Expr::col((S, "active")).eq(true))
                    .add(Expr::from(Func::count(Expr::col((O, "id")))).gt(0i32)),
            );
        let mut unsourced = Query::select();
        unsourced
            .expr_as(Expr::null(), Alias::new("source_id"))
            .expr_as(Expr::null(), Alias::new("source_name"));
        select_counts(&mut unsourced);
        unsourced
            .from_as("opportunities", O)
            .and_where(Expr::col((O, "tenant_id")).eq(tenant))
            .and_where(Expr::col((O, "source_id")).is_null())
            .cond_where(counted(user, scope, period));
        q.union(UnionType::All, unsourced);
        return q;
    }
    let same_tenant = |alias: &'static str, id_col: &'static str| {
        Condition::all()
            .add(Expr::col((alias, "tenant_id")).equals((O, "tenant_id")))
            .add(Expr::col((alias, "id")).equals((O, id_col)))
    };
    q.expr_as(Expr::col((O, "source_id")), Alias::new("source_id"))
        .expr_as(Expr::col((S, "name")), Alias::new("source_name"))
        .from_as("opportunities", O)
        .join_as(
            JoinType::LeftJoin,
            "lead_sources",
            S,
            same_tenant(S, "source_id"),
        )
        .group_by_col((O, "source_id"))
        .group_by_col((S, "name"));
    if grouping.establishment {
        q.expr_as(
            Expr::col((O, "establishment_id")),
            Alias::new("establishment_id"),
        )
        .expr_as(Expr::col((E, "name")), Alias::new("establishment_name"))
        .join_as(
            JoinType::LeftJoin,
            "establishments",
            E,
            same_tenant(E, "establishment_id"),
        )
        .group_by_col((O, "establishment_id"))
        .group_by_col((E, "name"));
    }
    if grouping.user {
        q.expr_as(Expr::col((O, "assigned_user_id")), Alias::new("user_id"))
            .expr_as(Expr::col((U, "name")), Alias::new("user_name"))
            .join_as(
                JoinType::LeftJoin,
                "users",
                U,
                same_tenant(U, "assigned_user_id"),
            )
            .group_by_col((O, "assigned_user_id"))
            .group_by_col((U, "name"));
    }
    select_counts(&mut q);
    q.and_where(Expr::col((O, "tenant_id")).eq(tenant))
        .cond_where(counted(user, scope, period));
    q
}

fn decode(r: &QueryResult, grouping: Grouping) -> Result<Counted> {
    let (establishment_id, establishment_name) = if grouping.establishment {
        (
            r.try_get("", "establishment_id")?,
            r.try_get("", "establishment_name")?,
        )
    } else {
        (None, None)
    };
    let (user_id, user_name) = if grouping.user {
        (r.try_get("", "user_id")?, r.try_get("", "user_name")?)
    } else {
        (None, None)
    };
    Ok(Counted {
        source_id: r.try_get("", "source_id")?,
        source_name: r.try_get("", "source_name")?,
        establishment_id,
        establishment_name,
        user_id,
        user_name,
        leads: r.try_get("", "leads")?,
        won: r.try_get("", "won")?,
        lost: r.try_get("", "lost")?,
    })
}

/// Names compare case-insensitively; a missing name (no source, no establishment, nobody)
/// sorts after every name.
fn by_name(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a
            .to_lowercase()
            .cmp(&b.to_lowercase())
            .then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The report order: most leads first, then source, establishment and user names, then ids
/// (so two sources of the same name keep a stable order). Sorted here rather than in SQL so
/// the order does not depend on the database's collation.
pub fn order(a: &Counted, b: &Counted) -> Ordering {
    b.leads
        .cmp(&a.leads)
        .then_with(|| by_name(&a.source_name, &b.source_name))
        .then_with(|| by_name(&a.establishment_name, &b.establishment_name))
        .then_with(|| by_name(&a.user_name, &b.user_name))
        .then_with(|| a.source_id.cmp(&b.source_id))
        .then_with(|| a.establishment_id.cmp(&b.establishment_id))
        .then_with(|| a.user_id.cmp(&b.user_id))
}

/// Runs the report for `user`, whose `opportunities`/`read` scope is `scope`.
pub async fn run(
    conn: &impl ConnectionTrait,
    user: &TenantUser,
    scope: Scope,
    period: &Period,
    grouping: Grouping,
) -> Result<Vec<Counted>> {
    let rows = conn
        .query_all(&statement(user, scope, period, grouping))
        .await?;
    let mut out = rows
        .iter()
        .map(|r| decode(r, grouping))
        .collect::<Result<Vec<_>>>()?;
    // The unsourced branch always answers one row; it is only worth showing with leads.
    out.retain(|c| c.source_id.is_some() || c.leads > 0);
    out.sort_by(order);
    Ok(out)
}

/// Share of won leads among all leads (open ones included), 0 when there are none.
pub fn conversion_rate(won: i64, leads: i64) -> f64 {
    if leads > 0 {
        won as f64 / leads as f64
    } else {
        0.0
    }
}

/// One row of the lead-source report.
#[derive(Debug, Object)]
pub struct LeadSourceReportRow {
    /// The lead source; `null` for leads recorded without a source.
    #[oai(nullable)]
    pub source_id: Option<Uuid>,
    /// Its current name; `null` for leads without a source.
    #[oai(nullable)]
    pub source_name: Option<String>,
    /// Present when grouped by `establishment`: the establishment the leads belong to, `null`
    /// for leads attached to none.
    #[oai(nullable)]
    pub establishment_id: MaybeUndefined<Uuid>,
    /// Present when grouped by `establishment`: its name (`null` with `establishment_id`).
    #[oai(nullable)]
    pub establishment_name: MaybeUndefined<String>,
    /// Present when grouped by `user`: the user the leads are assigned to, `null` for
    /// unassigned leads.
    #[oai(nullable)]
    pub user_id: MaybeUndefined<Uuid>,
    /// Present when grouped by `user`: their name (`null` with `user_id`).
    #[oai(nullable)]
    pub user_name: MaybeUndefined<String>,
    /// Leads (opportunities) created in the period.
    pub leads: i64,
    /// Of those, the ones whose status is now `won`.
    pub won: i64,
    /// Of those, the ones whose status is now `lost`.
    pub lost: i64,
    /// Of those, the ones still open (any other status, expired ones included):
    /// `leads - won - lost`.
    pub open: i64,
    /// `won / leads`, from 0 to 1, over all leads including the open ones (0 when `leads` is
    /// 0). A share of decided leads only would be `won / (won + lost)`.
    pub conversion_rate: f64,
}

/// The figures of the whole report: the sum of its rows.
#[derive(Debug, Object)]
pub struct LeadSourceReportTotals {
    /// Every lead counted in the report.
    pub leads: i64,
    /// Won.
    pub won: i64,
    /// Lost.
    pub lost: i64,
    /// Still open: `leads - won - lost`.
    pub open: i64,
    /// `won / leads`, from 0 to 1, over all leads (0 when there are none).
    pub conversion_rate: f64,
}

/// The lead-source report.
#[derive(Debug, Object)]
pub struct LeadSourceReport {
    /// First creation day counted (UTC, `YYYY-MM-DD`), as asked; `null`: since the first
    /// lead.
    #[oai(nullable)]
    pub from: Option<NaiveDate>,
    /// Last creation day counted, included (UTC, `YYYY-MM-DD`), as asked; `null`: up to now.
    #[oai(nullable)]
    pub to: Option<NaiveDate>,
    /// The dimensions the rows are split by, `source` first.
    pub group_by: Vec<Dimension>,
    /// One row per group, most leads first, then by source, establishment and user name
    /// (case-insensitive; rows without a name last).
    pub rows: Vec<LeadSourceReportRow>,
    /// The whole report: every lead the rows count, each once.
    pub totals: LeadSourceReportTotals,
}

impl LeadSourceReport {
    /// Shapes counted groups into the answer.
    pub fn build(period: Period, grouping: Grouping, counted: Vec<Counted>) -> Self {
        fn dim<T>(on: bool, v: Option<T>) -> MaybeUndefined<T> {
            if on {
                MaybeUndefined::from_opt_null(v)
            } else {
                MaybeUndefined::Undefined
            }
        }
        let (mut leads, mut won, mut lost) = (0, 0, 0);
        let rows = counted
            .into_iter()
            .map(|c| {
                leads += c.leads;
                won += c.won;
                lost += c.lost;
                LeadSourceReportRow {
                    source_id: c.source_id,
                    source_name: c.source_name,
                    establishment_id: dim(grouping.establishment, c.establishment_id),
                    establishment_name: dim(grouping.establishment, c.establishment_name),
                    user_id: dim(grouping.user, c.user_id),
                    user_name: dim(grouping.user, c.user_name),
                    leads: c.leads,
                    won: c.won,
                    lost: c.lost,
                    open: c.leads - c.won - c.lost,
                    conversion_rate: conversion_rate(c.won, c.leads),
                }
            })
            .collect();
        LeadSourceReport {
            from: period.from,
            to: period.to,
            group_by: grouping.dimensions(),
            rows,
            totals: LeadSourceReportTotals {
                leads,
                won,
                lost,
                open: leads - won - lost,
                conversion_rate: conversion_rate(won, leads),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn user() -> TenantUser {
        TenantUser {
            tenant_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            establishment_id: Some(Uuid::now_v7()),
        }
    }

    #[test]
    fn group_by_is_parsed_strictly() {
        assert_eq!(Grouping::parse(None).unwrap(), Grouping::default());
        assert_eq!(Grouping::parse(Some(" ")).unwrap(), Grouping::default());
        assert_eq!(
            Grouping::parse(Some("source")).unwrap(),
            Grouping::default()
        );
        let both = Grouping {
            establishment: true,
            user: true,
        };
        assert_eq!(Grouping::parse(Some("user, establishment")).unwrap(), both);
        assert_eq!(
            Grouping::parse(Some("source,establishment,user")).unwrap(),
            both
        );
        assert_eq!(
            both.dimensions(),
            vec![Dimension::Source, Dimension::Establishment, Dimension::User]
        );
        for bad in ["month", "establishment,", "Source", "establishment;user"] {
            match Grouping::parse(Some(bad)) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, "group_by", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn period_is_whole_utc_days() {
        let p = Period::parse(Some("2025-03-01"), Some("2025-03-31")).unwrap();
        assert_eq!(p.start().unwrap().to_rfc3339(), "2025-03-01T00:00:00+00:00");
        assert_eq!(p.end().unwrap().to_rfc3339(), "2025-04-01T00:00:00+00:00");
        let one = Period::parse(Some("2025-03-01"), Some("2025-03-01")).unwrap();
        assert_eq!(one.end().unwrap().to_rfc3339(), "2025-03-02T00:00:00+00:00");
        assert_eq!(Period::parse(None, Some("")).unwrap(), Period::default());
        let field = |from: Option<&str>, to: Option<&str>| match Period::parse(from, to) {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{from:?} {to:?}: {other:?}"),
        };
        assert_eq!(field(Some("2025-04-01"), Some("2025-03-31")), "from");
        assert_eq!(field(Some("2025-02-30"), None), "from");
        assert_eq!(field(Some("2025-3-1"), None), "from");
        assert_eq!(field(None, Some("yesterday")), "to");
        assert_eq!(field(None, Some("2025-03-01T00:00:00Z")), "to");
    }

    #[test]
    fn statement_pins_the_tenant_on_every_table() {
        let u = user();
        let p = Period::parse(Some("2025-01-01"), Some("2025-01-31")).unwrap();
        let by_source = statement(&u, Scope::Own, &p, Grouping::default());
        let sql = by_source.to_string(PostgresQueryBuilder);
        assert!(sql.contains(r#"FROM "lead_sources" AS "s" LEFT JOIN "opportunities" AS "o""#));
        assert!(
            sql.contains(r#""o"."tenant_id" = "s"."tenant_id""#),
            "{sql}"
        );
        assert!(sql.contains("UNION ALL"), "{sql}");
        assert!(sql.contains(r#""o"."source_id" IS NULL"#), "{sql}");
        assert_eq!(sql.matches(&u.tenant_id.to_string()).count(), 2, "{sql}");
        assert_eq!(sql.matches(&u.user_id.to_string()).count(), 2, "{sql}");
        assert!(
            by_source
                .to_string(SqliteQueryBuilder)
                .contains(" UNION ALL SELECT ")
        );

        let split = statement(
            &u,
            Scope::Tenant,
            &p,
            Grouping {
                establishment: true,
                user: true,
            },
        );
        let sql = split.to_string(PostgresQueryBuilder);
        for join in [
            r#"LEFT JOIN "lead_sources" AS "s" ON "s"."tenant_id" = "o"."tenant_id" AND "s"."id" = "o"."source_id""#,
            r#"LEFT JOIN "establishments" AS "e" ON "e"."tenant_id" = "o"."tenant_id" AND "e"."id" = "o"."establishment_id""#,
            r#"LEFT JOIN "users" AS "u" ON "u"."tenant_id" = "o"."tenant_id" AND "u"."id" = "o"."assigned_user_id""#,
        ] {
            assert!(sql.contains(join), "{join} not in {sql}");
        }
        assert!(sql.contains("GROUP BY"), "{sql}");
        assert!(!sql.contains("UNION"), "{sql}");
        assert_eq!(sql.matches(&u.user_id.to_string()).count(), 0, "{sql}");
    }

    #[test]
    fn scope_mirrors_crm() {
        let u = user();
        let sql = |scope| {
            statement(
                &u,
                scope,
                &Period::default(),
                Grouping {
                    establishment: true,
                    user: false,
                },
            )
            .to_string(PostgresQueryBuilder)
        };
        let est = u.establishment_id.unwrap().to_string();
        assert!(sql(Scope::Establishment).contains(&est));
        assert!(sql(Scope::Establishment).contains(&u.user_id.to_string()));
        assert!(!sql(Scope::Own).contains(&est));
        assert!(sql(Scope::Own).contains(&u.user_id.to_string()));
    }

    #[test]
    fn rows_are_ordered_and_totalled() {
        let row = |name: Option<&str>, leads, won, lost| Counted {
            source_id: name.map(|_| Uuid::now_v7()),
            source_name: name.map(str::to_string),
            establishment_id: None,
            establishment_name: None,
            user_id: None,
            user_name: None,
            leads,
            won,
            lost,
        };
        let mut rows = vec![
            row(Some("website"), 2, 1, 0),
            row(None, 2, 0, 2),
            row(Some("Phone"), 0, 0, 0),
            row(Some("Autoscout"), 2, 0, 1),
            row(Some("Showroom"), 3, 1, 1),
        ];
        rows.sort_by(order);
        let names: Vec<_> = rows.iter().map(|r| r.source_name.as_deref()).collect();
        assert_eq!(
            names,
            [
                Some("Showroom"),
                Some("Autoscout"),
                Some("website"),
                None,
                Some("Phone")
            ]
        );
        let r = LeadSourceReport::build(Period::default(), Grouping::default(), rows);
        assert_eq!(r.totals.leads, 9);
        assert_eq!(r.totals.won, 2);
        assert_eq!(r.totals.lost, 4);
        assert_eq!(r.totals.open, 3);
        assert_eq!(r.totals.conversion_rate, 2.0 / 9.0);
        assert_eq!(r.rows[0].open, 1);
        assert_eq!(r.rows[4].conversion_rate, 0.0);
        assert!(matches!(r.rows[0].user_id, MaybeUndefined::Undefined));
    }
}
