//! Figures about opportunities that reports of other modules need (implemented by `crm`,
//! which owns the opportunities). A report asks for ids and counts; it names the ids itself.

use crate::{Result, tenancy::Cx};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseExecutor;
use uuid::Uuid;

/// Which opportunities are counted, by creation instant (beyond the caller's reach).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreatedWithin {
    /// First instant counted, included; `None`: since the first opportunity.
    pub from: Option<DateTime<Utc>>,
    /// First instant no longer counted; `None`: up to now.
    pub before: Option<DateTime<Utc>>,
}

/// How counts are split beyond the lead source, which always splits them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadSplit {
    /// One group per source × establishment of the opportunity.
    pub establishment: bool,
    /// One group per source × user the opportunity is assigned to.
    pub user: bool,
}

/// The opportunities of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadSourceCount {
    /// The lead source; `None` for opportunities without one.
    pub source_id: Option<Uuid>,
    /// The establishment, when split by it (`None` also for opportunities of none).
    pub establishment_id: Option<Uuid>,
    /// The assigned user, when split by it (`None` also for unassigned opportunities).
    pub user_id: Option<Uuid>,
    /// Opportunities counted.
    pub leads: i64,
    /// Of which in a status of kind won.
    pub won: i64,
    /// Of which in a status of kind lost.
    pub lost: i64,
}

/// What reports may ask of the opportunity store without depending on the `crm` crate.
#[async_trait::async_trait]
pub trait OpportunityFacts<A: Sync>: Send + Sync + 'static {
    /// The opportunities created `within` that the caller of `cx` may read, counted per lead
    /// source (and per establishment and/or assigned user, as `split` says): only groups with
    /// at least one opportunity, in no particular order. `cx` must be the caller's context
    /// for `opportunities`/`read`: its scope decides which opportunities are counted, as the
    /// opportunity list decides it.
    async fn lead_source_counts(
        &self,
        app: &A,
        db: DatabaseExecutor<'_>,
        cx: &Cx,
        within: CreatedWithin,
        split: LeadSplit,
    ) -> Result<Vec<LeadSourceCount>>;
}
