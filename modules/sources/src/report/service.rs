//! The report's figures: the CRM counts its opportunities per group (through
//! [`OpportunityFacts`](forecourt_core::ports::opportunity_facts::OpportunityFacts)), this
//! module names the groups from its own sources and from the directory, adds the active
//! sources that brought nothing, and orders the rows.

use super::params::{Grouping, Period};
use crate::lead_sources::entities::lead_source;
use forecourt_core::{
    App, Result,
    ports::directory::DirectoryKind,
    tenancy::{Cx, TenantScoped, Tenanted},
};
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
use std::{cmp::Ordering, collections::HashMap};
use uuid::Uuid;

/// One group of leads, counted and named.
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

/// The ids of one dimension among the groups, each once.
fn ids_of(ids: impl Iterator<Item = Option<Uuid>>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = ids.flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Runs the report for the caller of `cx`, a context for `opportunities`/`read`: its scope
/// decides which opportunities count.
pub async fn run(app: &App, cx: &Cx, period: &Period, grouping: Grouping) -> Result<Vec<Counted>> {
    let counts = app
        .ports
        .opportunity_facts
        .lead_source_counts(app, (&app.db).into(), cx, period.into(), grouping.into())
        .await?;
    // Per source only, every active source has a row, so the tenant's sources are read whole
    // (a handful); split, only the sources that brought leads are named.
    let mut sources = lead_source::Entity::scoped(cx).select_only().columns([
        lead_source::Column::Id,
        lead_source::Column::Name,
        lead_source::Column::Active,
    ]);
    if !grouping.source_only() {
        sources = sources
            .filter(lead_source::Column::Id.is_in(ids_of(counts.iter().map(|c| c.source_id))));
    }
    let sources: Vec<(Uuid, String, bool)> = sources.into_tuple().all(&app.db).await?;
    let names = |kind, on: bool, ids: Vec<Uuid>| async move {
        if on {
            app.ports
                .directory
                .names((&app.db).into(), cx.tenant(), kind, &ids)
                .await
        } else {
            Ok(HashMap::new())
        }
    };
    let establishments = names(
        DirectoryKind::Establishment,
        grouping.establishment,
        ids_of(counts.iter().map(|c| c.establishment_id)),
    )
    .await?;
    let users = names(
        DirectoryKind::User,
        grouping.user,
        ids_of(counts.iter().map(|c| c.user_id)),
    )
    .await?;
    let source_names: HashMap<Uuid, &str> =
        sources.iter().map(|(id, n, _)| (*id, n.as_str())).collect();
    let name =
        |names: &HashMap<Uuid, String>, id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned());
    let mut out: Vec<Counted> = counts
        .iter()
        .map(|c| Counted {
            source_id: c.source_id,
            source_name: c
                .source_id
                .and_then(|id| source_names.get(&id).map(|n| n.to_string())),
            establishment_id: c.establishment_id.filter(|_| grouping.establishment),
            establishment_name: name(&establishments, c.establishment_id),
            user_id: c.user_id.filter(|_| grouping.user),
            user_name: name(&users, c.user_id),
            leads: c.leads,
            won: c.won,
            lost: c.lost,
        })
        .collect();
    if grouping.source_only() {
        for (id, n, active) in &sources {
            if *active && !counts.iter().any(|c| c.source_id == Some(*id)) {
                out.push(Counted {
                    source_id: Some(*id),
                    source_name: Some(n.clone()),
                    establishment_id: None,
                    establishment_name: None,
                    user_id: None,
                    user_name: None,
                    leads: 0,
                    won: 0,
                    lost: 0,
                });
            }
        }
    }
    // Only groups with leads come from the CRM; a group without a source is shown only then.
    out.retain(|c| c.source_id.is_some() || c.leads > 0);
    out.sort_by(order);
    Ok(out)
}
