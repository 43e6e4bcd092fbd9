//! The pipeline report: for each status of an entity (or each kind), how many records
//! entered it in a period, how many are in it now, how long they stayed, and how many went on
//! to the next status. Read from the status history, keyed by status key and id, so renaming
//! a label changes no figure; limited to the records the caller may read.

use crate::{
    contacts::{entities::contact, service as contacts},
    opportunities::{entities::opportunity, service::readable},
};
use chrono::{DateTime, NaiveDate, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    entities::status_change,
    ports::statuses::{StatusEntity, StatusKind, StatusSet},
    tenancy::{Cx, TenantScoped},
};
use poem_openapi::Object;
use sea_orm::{
    ColumnTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::SelectStatement,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// How the report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One row per status, in the tenant's order.
    Status,
    /// One row per kind: open, won, lost.
    Kind,
}

impl GroupBy {
    /// `status` (default) or `kind`; 422 naming `group_by` otherwise.
    pub fn parse(v: Option<&str>) -> Result<Self> {
        match v.unwrap_or("status") {
            "status" => Ok(GroupBy::Status),
            "kind" => Ok(GroupBy::Kind),
            other => Err(Error::invalid(
                "group_by",
                msg!("`{other}` is not a grouping: `status` or `kind`", other),
            )),
        }
    }
}

/// The period of the report: moves from `from` 00:00 UTC to the end of `to`.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    /// First instant counted.
    pub from: Option<DateTime<Utc>>,
    /// First instant no longer counted.
    pub before: Option<DateTime<Utc>>,
}

impl Period {
    /// Parses `YYYY-MM-DD` days; 422 naming `from` or `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self> {
        let day = |field: &str, v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                Error::invalid(
                    field,
                    msg!("`{v}` is not a day: `YYYY-MM-DD`, e.g. 2026-03-31", v),
                )
            })
        };
        let from = from.map(|v| day("from", v)).transpose()?;
        let to = to.map(|v| day("to", v)).transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(Error::invalid("to", msg!("not before `from`")));
        }
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        Ok(Period {
            from: from.and_then(midnight),
            before: to.and_then(|t| t.succ_opt()).and_then(midnight),
        })
    }

    fn holds(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| at >= f) && self.before.is_none_or(|b| at < b)
    }
}

/// One row of the pipeline report.
#[derive(Debug, Clone, Object, Serialize)]
pub struct PipelineRow {
    /// The status's id (with the `statuses` module; absent for the fixed sets and for a row of
    /// kinds).
    #[oai(nullable)]
    pub status_id: Option<Uuid>,
    /// The status key, or the kind (`open`, `won`, `lost`) when grouped by kind.
    pub key: String,
    /// `open`, `won` or `lost`.
    pub kind: String,
    /// Records that entered it during the period (creation included).
    pub entered: u64,
    /// Records in it now.
    pub current: u64,
    /// Records that left it during the period with a known time in it.
    pub left: u64,
    /// Average seconds spent in it, over `left`.
    #[oai(nullable)]
    pub average_seconds: Option<i64>,
    /// Median seconds spent in it, over `left`.
    #[oai(nullable)]
    pub median_seconds: Option<i64>,
    /// The next status in the tenant's order (by status only).
    #[oai(nullable)]
    pub next_key: Option<String>,
    /// Of the records that entered it during the period, how many entered `next_key` later.
    #[oai(nullable)]
    pub converted_to_next: Option<u64>,
    /// `converted_to_next / entered`, 0 to 1 (absent when nothing entered).
    #[oai(nullable)]
    pub conversion_rate: Option<f64>,
}

/// The pipeline report.
#[derive(Debug, Clone, Object, Serialize)]
pub struct PipelineReport {
    /// `opportunity` or `prospect`.
    pub entity: String,
    /// `status` or `kind`.
    pub group_by: String,
    /// The rows, in the tenant's status order (or open, won, lost).
    pub rows: Vec<PipelineRow>,
}

/// The records of the report's entity that the caller may read.
enum InReach {
    Opportunities(Select<opportunity::Entity>),
    Prospects(Select<contact::Entity>),
}

impl InReach {
    /// The records of `entity` within the caller's scope (the caller's company is read once).
    async fn of(app: &App, cx: &Cx, entity: StatusEntity) -> Result<Self> {
        Ok(match entity {
            StatusEntity::Opportunity => Self::Opportunities(readable(cx.user(), cx.scope())),
            StatusEntity::Prospect => {
                let company = contacts::user_company(app, &app.db, cx.user(), cx.scope()).await?;
                Self::Prospects(contacts::scoped(cx).filter(contacts::visibility(
                    cx.user(),
                    cx.scope(),
                    company,
                )))
            }
        })
    }

    /// Their ids, as a subquery.
    fn ids(&self) -> SelectStatement {
        match self {
            Self::Opportunities(q) => q
                .clone()
                .select_only()
                .column(opportunity::Column::Id)
                .into_query(),
            Self::Prospects(q) => q
                .clone()
                .select_only()
                .column(contact::Column::Id)
                .into_query(),
        }
    }

    /// How many are in each status now.
    async fn current(&self, app: &App) -> Result<HashMap<String, u64>> {
        let rows: Vec<(Option<String>, i64)> = match self {
            Self::Opportunities(q) => {
                q.clone()
                    .select_only()
                    .column(opportunity::Column::Status)
                    .column_as(opportunity::Column::Id.count(), "n")
                    .group_by(opportunity::Column::Status)
                    .into_tuple()
                    .all(&app.db)
                    .await?
            }
            Self::Prospects(q) => {
                q.clone()
                    .filter(contact::Column::Lifecycle.eq("prospect"))
                    .select_only()
                    .column(contact::Column::ProspectStatus)
                    .column_as(contact::Column::Id.count(), "n")
                    .group_by(contact::Column::ProspectStatus)
                    .into_tuple()
                    .all(&app.db)
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .filter_map(|(k, n)| Some((k?, n.max(0) as u64)))
            .collect())
    }
}

/// Figures gathered for one row.
#[derive(Default)]
struct Tally {
    entered: HashSet<Uuid>,
    current: u64,
    stays: Vec<i64>,
}

/// Runs the report for the caller of `cx` (a read context of the entity's object).
pub async fn run(
    app: &App,
    cx: &Cx,
    entity: StatusEntity,
    set: &StatusSet,
    period: Period,
    group_by: GroupBy,
) -> Result<PipelineReport> {
    let reach = InReach::of(app, cx, entity).await?;
    let ids = reach.ids();
    // Every move from the start of the period on: those inside it are counted, later ones
    // tell whether a record went on to the next status.
    let mut q = status_change::Entity::scoped(cx)
        .filter(status_change::Column::Entity.eq(entity.as_str()))
        .filter(status_change::Column::RecordId.in_subquery(ids));
    if let Some(f) = period.from {
        q = q.filter(status_change::Column::At.gte(f));
    }
    let moves = q
        .order_by_asc(status_change::Column::At)
        .order_by_asc(status_change::Column::Id)
        .all(&app.db)
        .await?;
    let now = reach.current(app).await?;
    let label = |key: &str| -> String {
        match group_by {
            GroupBy::Status => key.to_string(),
            GroupBy::Kind => kind_key(set.kind(key)).to_string(),
        }
    };
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for m in &moves {
        if period.before.is_some_and(|b| m.at >= b) {
            continue;
        }
        tallies
            .entry(label(&m.to_status))
            .or_default()
            .entered
            .insert(m.record_id);
        if let (Some(from), Some(secs)) = (&m.from_status, m.seconds_in_from)
            && period.holds(m.at)
        {
            tallies.entry(label(from)).or_default().stays.push(secs);
        }
    }
    for (key, n) in &now {
        tallies.entry(label(key)).or_default().current += n;
    }
    let order: Vec<(String, Option<Uuid>, StatusKind)> = match group_by {
        GroupBy::Status => set
            .0
            .iter()
            .map(|s| (s.key.clone(), s.id, s.kind))
            .collect(),
        GroupBy::Kind => [StatusKind::Open, StatusKind::Won, StatusKind::Lost]
            .into_iter()
            .map(|k| (kind_key(k).to_string(), None, k))
            .collect(),
    };
    let mut rows = Vec::new();
    for (i, (key, id, kind)) in order.iter().enumerate() {
        let t = tallies.remove(key).unwrap_or_default();
        // Conversion runs along the open statuses and into the first closed one after them;
        // a closed status has no next.
        let next = (group_by == GroupBy::Status && !kind.is_closed())
            .then(|| order.get(i + 1).map(|(k, _, _)| k.clone()))
            .flatten();
        let converted = next
            .as_ref()
            .map(|n| went_on(&moves, &period, key, n, &t.entered));
        let mut stays = t.stays;
        stays.sort_unstable();
        rows.push(PipelineRow {
            status_id: *id,
            key: key.clone(),
            kind: kind_key(*kind).to_string(),
            entered: t.entered.len() as u64,
            current: t.current,
            left: stays.len() as u64,
            average_seconds: (!stays.is_empty())
                .then(|| stays.iter().sum::<i64>() / stays.len() as i64),
            median_seconds: median(&stays),
            next_key: next,
            converted_to_next: converted,
            conversion_rate: converted
                .filter(|_| !t.entered.is_empty())
                .map(|c| c as f64 / t.entered.len() as f64),
        });
    }
    Ok(PipelineReport {
        entity: entity.as_str().to_string(),
        group_by: match group_by {
            GroupBy::Status => "status",
            GroupBy::Kind => "kind",
        }
        .to_string(),
        rows,
    })
}

/// How many of `entered` (records that entered `key` in the period) entered `next` after.
fn went_on(
    moves: &[status_change::Model],
    period: &Period,
    key: &str,
    next: &str,
    entered: &HashSet<Uuid>,
) -> u64 {
    let mut first_in: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for m in moves {
        if m.to_status == key && period.holds(m.at) && entered.contains(&m.record_id) {
            first_in.entry(m.record_id).or_insert(m.at);
        }
    }
    let mut on: HashSet<Uuid> = HashSet::new();
    for m in moves {
        if m.to_status == next && first_in.get(&m.record_id).is_some_and(|at| m.at >= *at) {
            on.insert(m.record_id);
        }
    }
    on.len() as u64
}

fn median(sorted: &[i64]) -> Option<i64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

fn kind_key(k: StatusKind) -> &'static str {
    match k {
        StatusKind::Open => "open",
        StatusKind::Won => "won",
        StatusKind::Lost => "lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[1, 3, 10]), Some(3));
        assert_eq!(median(&[1, 3, 5, 10]), Some(4));
    }

    #[test]
    fn a_period_counts_both_days_whole() {
        let p = Period::parse(Some("2026-03-01"), Some("2026-03-31")).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(p.holds(at("2026-03-01T00:00:00Z")));
        assert!(p.holds(at("2026-03-31T23:59:59Z")));
        assert!(!p.holds(at("2026-04-01T00:00:00Z")));
        assert!(!p.holds(at("2026-02-28T23:59:59Z")));
        assert_eq!(
            Period::parse(Some("2026-04-01"), Some("2026-03-01"))
                .unwrap_err()
                .problem()
                .field
                .as_deref(),
            Some("to")
        );
    }
}
