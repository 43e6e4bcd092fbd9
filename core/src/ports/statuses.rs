//! What kind a status is. Every rule that depends on a status (closed opportunities, the
//! expiry rule's exemptions, the lead-source report's won and lost counts) asks here instead
//! of naming status keys, so tenant-defined statuses can replace the fixed set in one place.

use crate::{Result, tenancy::TenantId};
use sea_orm::DatabaseExecutor;

/// The entities that carry a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusEntity {
    /// A sales opportunity.
    Opportunity,
}

/// What a status means for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// Still being worked on.
    Open,
    /// Closed, sold.
    Won,
    /// Closed, not sold.
    Lost,
}

impl StatusKind {
    /// Won and lost are closed: a closed record takes only comments, documents and a reopen.
    pub fn is_closed(self) -> bool {
        !matches!(self, StatusKind::Open)
    }
}

/// One status of an entity, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFacts {
    /// The stable key stored on records.
    pub key: String,
    /// Open, won or lost.
    pub kind: StatusKind,
    /// Whether the expiry rule leaves records in this status alone by default (closed
    /// records never expire whatever this says).
    pub exempt_from_expiry: bool,
    /// Whether a new record starts in this status.
    pub initial: bool,
}

/// A tenant's statuses for an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(pub Vec<StatusFacts>);

impl StatusSet {
    /// The facts of `key`, `None` for a key the set does not know.
    pub fn get(&self, key: &str) -> Option<&StatusFacts> {
        self.0.iter().find(|s| s.key == key)
    }

    /// The kind of `key`; an unknown key counts as open (it was never closed by a rule).
    pub fn kind(&self, key: &str) -> StatusKind {
        self.get(key).map_or(StatusKind::Open, |s| s.kind)
    }

    /// The keys of one kind, for queries that count or filter by kind.
    pub fn keys_of(&self, kind: StatusKind) -> Vec<String> {
        self.0
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.key.clone())
            .collect()
    }

    /// The keys the expiry rule leaves alone.
    pub fn exempt_keys(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|s| s.exempt_from_expiry)
            .map(|s| s.key.clone())
            .collect()
    }

    /// The status a new record starts in.
    pub fn initial(&self) -> Option<&str> {
        self.0.iter().find(|s| s.initial).map(|s| s.key.as_str())
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.key.as_str())
    }
}

/// Answers a tenant's statuses. Today one fixed set per entity ([`FixedStatuses`]); the
/// `statuses` module will answer each tenant's own.
#[async_trait::async_trait]
pub trait Statuses: Send + Sync + 'static {
    /// The tenant's statuses for `entity`.
    async fn of(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        entity: StatusEntity,
    ) -> Result<StatusSet>;
}

/// The statuses every tenant has (seed 004): `new` first, five open ones, `won` and `lost`
/// closed. By default the expiry rule exempts `taken_in_charge`, `sold_not_delivered` and
/// `long_term_follow_up` (a tenant may choose others among the open ones).
#[derive(Debug, Default, Clone, Copy)]
pub struct FixedStatuses;

/// The fixed opportunity statuses, as `(key, kind, exempt from expiry)`, in order.
pub const OPPORTUNITY_STATUSES: &[(&str, StatusKind, bool)] = &[
    ("new", StatusKind::Open, false),
    ("taken_in_charge", StatusKind::Open, true),
    ("offer_sent", StatusKind::Open, false),
    ("sold_not_delivered", StatusKind::Open, true),
    ("long_term_follow_up", StatusKind::Open, true),
    ("won", StatusKind::Won, false),
    ("lost", StatusKind::Lost, false),
];

impl FixedStatuses {
    /// The fixed set of `entity`, without asking a database.
    pub fn set(entity: StatusEntity) -> StatusSet {
        match entity {
            StatusEntity::Opportunity => StatusSet(
                OPPORTUNITY_STATUSES
                    .iter()
                    .enumerate()
                    .map(|(i, (key, kind, exempt))| StatusFacts {
                        key: (*key).to_string(),
                        kind: *kind,
                        exempt_from_expiry: *exempt,
                        initial: i == 0,
                    })
                    .collect(),
            ),
        }
    }
}

#[async_trait::async_trait]
impl Statuses for FixedStatuses {
    async fn of(
        &self,
        _db: DatabaseExecutor<'_>,
        _tenant: TenantId,
        entity: StatusEntity,
    ) -> Result<StatusSet> {
        Ok(Self::set(entity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_set_answers_kind_exemption_and_start() {
        let s = FixedStatuses::set(StatusEntity::Opportunity);
        assert_eq!(s.initial(), Some("new"));
        assert_eq!(s.kind("won"), StatusKind::Won);
        assert_eq!(s.kind("lost"), StatusKind::Lost);
        assert!(s.kind("lost").is_closed() && !s.kind("offer_sent").is_closed());
        assert_eq!(
            s.exempt_keys(),
            [
                "taken_in_charge",
                "sold_not_delivered",
                "long_term_follow_up"
            ]
        );
        assert_eq!(s.keys_of(StatusKind::Won), ["won"]);
    }
}
