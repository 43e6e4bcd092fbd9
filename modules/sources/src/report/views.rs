//! The report as the API answers it.

use super::{
    params::{Dimension, Grouping, Period},
    service::Counted,
};
use chrono::NaiveDate;
use poem_openapi::{Object, types::MaybeUndefined};
use uuid::Uuid;

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
    use crate::report::service::order;

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
