//! What kind a status is, and which moves between statuses a tenant allows. Every rule that
//! depends on a status (closed opportunities, the expiry rule's exemptions, the lead-source
//! report's won and lost counts, intake's merge-or-create) asks here instead of naming status
//! keys, so the `statuses` module can replace the fixed sets in one place. Without that module
//! (Go tier, or switched off) [`FixedStatuses`] answers: the built-in machine.

use crate::msg;
use crate::{Error, Result, tenancy::TenantId};
use sea_orm::DatabaseExecutor;
use uuid::Uuid;

/// The entities that carry a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusEntity {
    /// A sales opportunity.
    Opportunity,
    /// A contact whose lifecycle is `prospect`.
    Prospect,
}

impl StatusEntity {
    /// Every entity, in the order the API lists them.
    pub const ALL: &'static [StatusEntity] = &[StatusEntity::Opportunity, StatusEntity::Prospect];

    /// The entity's key in the API and in stored rows.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusEntity::Opportunity => "opportunity",
            StatusEntity::Prospect => "prospect",
        }
    }

    /// The entity of a key, `None` for an unknown one.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.as_str() == key)
    }

    /// The fields of a record that a transition may require to be set before it is taken
    /// (`required_fields`); the owner of the record checks them.
    pub fn requirable_fields(self) -> &'static [&'static str] {
        match self {
            StatusEntity::Opportunity => &[
                "customer_info",
                "source_id",
                "assigned_user_id",
                "establishment_id",
                "vehicle_ids",
            ],
            StatusEntity::Prospect => &[
                "first_name",
                "last_name",
                "company_name",
                "emails",
                "phones",
                "addresses",
                "language",
                "birth_date",
                "national_number",
                "vat_number",
                "assigned_user_id",
                "establishment_id",
            ],
        }
    }
}

/// 422 `required_fields_missing`: the record lacks `fields`, which the transition asks for.
pub fn required_fields_missing(fields: Vec<String>) -> Error {
    Error::Refused {
        kind: "required_fields_missing",
        field: fields.first().cloned().unwrap_or_default(),
        detail: msg!(
            "set {fields} first: this status asks for them",
            fields = fields.join(", ")
        ),
        extra: serde_json::json!({ "fields": fields }),
    }
}

/// 422 `reason_required` on `reason`.
pub fn reason_required(to: &str) -> Error {
    Error::Validation {
        kind: "reason_required",
        field: "reason".into(),
        detail: msg!("say why: a move to `{to}` needs a reason", to),
    }
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
    /// The status row's id (`None` in the fixed sets, which have no rows).
    pub id: Option<Uuid>,
    /// Chance of a sale in this status, 0–100 (won 100, lost 0).
    pub probability: u8,
    /// Whether a record in this status holds the stock vehicle of its latest offer
    /// (`reserved`), as `sold_not_delivered` does by default.
    pub reserves_vehicle: bool,
    /// Archived: no record may move into it any more; records already in it stay readable.
    pub archived: bool,
}

impl StatusFacts {
    /// A status of the fixed sets: position 0 is the initial one; won 100, lost 0, open ones
    /// rising from 10 to 90 along the list.
    fn fixed(i: usize, len: usize, key: &str, kind: StatusKind, exempt: bool) -> Self {
        let open_steps = len.saturating_sub(2).max(1) as u32;
        StatusFacts {
            key: key.to_string(),
            kind,
            exempt_from_expiry: exempt,
            initial: i == 0,
            id: None,
            probability: match kind {
                StatusKind::Won => 100,
                StatusKind::Lost => 0,
                StatusKind::Open => (10 + 80 * i as u32 / open_steps).min(90) as u8,
            },
            reserves_vehicle: key == "sold_not_delivered",
            archived: false,
        }
    }
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

    /// Whether these are the tenant's own statuses (rows of the `statuses` module), whose
    /// flags are the source of truth, rather than a fixed set.
    pub fn is_tenants_own(&self) -> bool {
        self.0.iter().any(|s| s.id.is_some())
    }
}

/// What a move between two statuses asks of the record and the caller, once allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransitionRule {
    /// A reason must be given (a move to a lost status always needs one).
    pub requires_reason: bool,
    /// Fields of the record that must be set before the move (the record's owner checks them
    /// and answers 422 `required_fields_missing` with `fields`).
    pub required_fields: Vec<String>,
}

impl TransitionRule {
    /// Checks what the rule asks of the move to `to`: a reason when one is required (422
    /// `reason_required`), and every required field set on the record as `has` tells (422
    /// `required_fields_missing` listing those it lacks). Every owner of records applies it.
    pub fn enforce(
        &self,
        to: &str,
        reason: Option<&str>,
        has: impl Fn(&str) -> bool,
    ) -> Result<()> {
        if self.requires_reason && reason.is_none() {
            return Err(reason_required(to));
        }
        let missing: Vec<String> = self
            .required_fields
            .iter()
            .filter(|f| !has(f))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(required_fields_missing(missing))
        }
    }
}

/// A requested move, as the owner of the record asks the port about it.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    /// The entity of the record.
    pub entity: StatusEntity,
    /// The record's current status key.
    pub from: &'a str,
    /// The requested status key.
    pub to: &'a str,
    /// The user asking (`None` for the system: intake, an archive's reassignment); a listed
    /// transition limited to some roles is checked against this user's roles.
    pub user: Option<Uuid>,
}

/// Answers a tenant's statuses and the moves between them. [`FixedStatuses`] answers the
/// built-in sets; the `statuses` module answers each tenant's own while the tenant has it.
#[async_trait::async_trait]
pub trait Statuses<A: Sync>: Send + Sync + 'static {
    /// The tenant's statuses for `entity`, in order, archived ones included (flagged).
    async fn of(
        &self,
        app: &A,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        entity: StatusEntity,
    ) -> Result<StatusSet>;

    /// Whether the tenant allows `m`, and what it then asks for. Refusals: 422
    /// `unknown_status` (field `status`) for a key the set lacks or an archived one, 422
    /// `transition_not_allowed` (field `status`, member `allowed`: the keys reachable from
    /// `from`) otherwise.
    async fn transition(
        &self,
        app: &A,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        m: Move<'_>,
    ) -> Result<TransitionRule>;

    /// Makes exactly `keys` the statuses of `entity` exempt from the expiry rule (`PUT
    /// /settings/expiry` keeps `exempt_statuses` as a view of the flags), in the caller's
    /// transaction. Answers the cache generation the caller must move on once it committed
    /// (`AfterCommit::Bump`), or `None` when the tenant's statuses are a fixed set, whose
    /// exemptions the caller keeps itself.
    async fn set_exempt(
        &self,
        app: &A,
        txn: &sea_orm::DatabaseTransaction,
        tenant: TenantId,
        entity: StatusEntity,
        keys: &[String],
    ) -> Result<Option<crate::cache::CacheKey>>;
}

/// The records that carry a status, as their owner answers for them when the `statuses`
/// module archives a status. Every module that stores records of an entity registers one
/// (`Ports::status_holders`); a holder answers 0 for entities it does not store.
#[async_trait::async_trait]
pub trait StatusHolders<A: Sync>: Send + Sync + 'static {
    /// How many of the tenant's records of `entity` are in status `key` now.
    async fn count_in(
        &self,
        app: &A,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        entity: StatusEntity,
        key: &str,
    ) -> Result<u64>;

    /// Moves every record of `entity` in status `from` to `to`, inside `txn`, each move in the
    /// record's status history (cause `archive`, by `actor`) and activity; answers how many
    /// moved.
    #[allow(clippy::too_many_arguments)]
    async fn reassign(
        &self,
        app: &A,
        txn: &sea_orm::DatabaseTransaction,
        tenant: TenantId,
        entity: StatusEntity,
        from: &str,
        to: &str,
        actor: Option<Uuid>,
    ) -> Result<u64>;
}

/// 422 `unknown_status`: `to` is not a status the caller may move to; lists the keys that are.
pub fn unknown_status(set: &StatusSet, to: &str) -> Error {
    let keys: Vec<&str> = set
        .0
        .iter()
        .filter(|s| !s.archived)
        .map(|s| s.key.as_str())
        .collect();
    Error::Refused {
        kind: "unknown_status",
        field: "status".into(),
        detail: msg!(
            "`{to}` is not a status here: one of {keys}",
            to,
            keys = keys.join(", ")
        ),
        extra: serde_json::json!({ "allowed": keys }),
    }
}

/// 422 `transition_not_allowed` from `from` to `to`, listing the keys reachable from `from`.
pub fn transition_not_allowed(from: &str, to: &str, allowed: Vec<String>) -> Error {
    let detail = if allowed.is_empty() {
        msg!("no status can follow `{from}`", from)
    } else {
        msg!(
            "`{to}` cannot follow `{from}`: one of {allowed}",
            to,
            from,
            allowed = allowed.join(", ")
        )
    };
    Error::Refused {
        kind: "transition_not_allowed",
        field: "status".into(),
        detail,
        extra: serde_json::json!({ "allowed": allowed }),
    }
}

/// The statuses every tenant has without the `statuses` module, and the ones that module
/// starts each tenant with. Opportunities (seed 004): `new` first, four open ones, `won` and
/// `lost` closed; by default the expiry rule exempts `taken_in_charge`, `sold_not_delivered`
/// and `long_term_follow_up` (a tenant may choose others among the open ones). Prospects
/// (seed 003): `new`, `contacted`, `qualified`, `converted` (won), `disqualified` (lost).
///
/// The built-in machine: an open record may move to any status; a closed (won or lost) one
/// only back to an open one (a reopen).
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

/// The fixed prospect statuses, as `(key, kind, exempt from expiry)`, in order.
pub const PROSPECT_STATUSES: &[(&str, StatusKind, bool)] = &[
    ("new", StatusKind::Open, false),
    ("contacted", StatusKind::Open, false),
    ("qualified", StatusKind::Open, false),
    ("converted", StatusKind::Won, false),
    ("disqualified", StatusKind::Lost, false),
];

impl FixedStatuses {
    /// The fixed list of `entity`, as `(key, kind, exempt from expiry)`.
    pub fn list(entity: StatusEntity) -> &'static [(&'static str, StatusKind, bool)] {
        match entity {
            StatusEntity::Opportunity => OPPORTUNITY_STATUSES,
            StatusEntity::Prospect => PROSPECT_STATUSES,
        }
    }

    /// The fixed set of `entity`, without asking a database.
    pub fn set(entity: StatusEntity) -> StatusSet {
        let list = Self::list(entity);
        StatusSet(
            list.iter()
                .enumerate()
                .map(|(i, (key, kind, exempt))| {
                    StatusFacts::fixed(i, list.len(), key, *kind, *exempt)
                })
                .collect(),
        )
    }

    /// The built-in machine's answer for `m` (see [`FixedStatuses`]).
    pub fn check(set: &StatusSet, m: Move<'_>) -> Result<TransitionRule> {
        let Some(to) = set.get(m.to).filter(|s| !s.archived) else {
            return Err(unknown_status(set, m.to));
        };
        if set.kind(m.from).is_closed() && to.kind.is_closed() {
            let allowed = set
                .0
                .iter()
                .filter(|s| !s.kind.is_closed() && !s.archived)
                .map(|s| s.key.clone())
                .collect();
            return Err(transition_not_allowed(m.from, m.to, allowed));
        }
        Ok(TransitionRule {
            requires_reason: to.kind == StatusKind::Lost,
            required_fields: Vec::new(),
        })
    }
}

#[async_trait::async_trait]
impl<A: Sync> Statuses<A> for FixedStatuses {
    async fn of(
        &self,
        _app: &A,
        _db: DatabaseExecutor<'_>,
        _tenant: TenantId,
        entity: StatusEntity,
    ) -> Result<StatusSet> {
        Ok(Self::set(entity))
    }

    async fn transition(
        &self,
        _app: &A,
        _db: DatabaseExecutor<'_>,
        _tenant: TenantId,
        m: Move<'_>,
    ) -> Result<TransitionRule> {
        Self::check(&Self::set(m.entity), m)
    }

    async fn set_exempt(
        &self,
        _app: &A,
        _txn: &sea_orm::DatabaseTransaction,
        _tenant: TenantId,
        _entity: StatusEntity,
        _keys: &[String],
    ) -> Result<Option<crate::cache::CacheKey>> {
        Ok(None)
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
        assert_eq!(s.get("won").map(|f| f.probability), Some(100));
        assert_eq!(s.get("lost").map(|f| f.probability), Some(0));
        assert!(
            s.get("sold_not_delivered")
                .is_some_and(|f| f.reserves_vehicle)
        );
        let p = FixedStatuses::set(StatusEntity::Prospect);
        assert_eq!(p.initial(), Some("new"));
        assert_eq!(p.keys_of(StatusKind::Won), ["converted"]);
        assert_eq!(p.keys_of(StatusKind::Lost), ["disqualified"]);
    }

    #[test]
    fn the_built_in_machine_reopens_but_never_moves_between_closed_statuses() {
        let s = FixedStatuses::set(StatusEntity::Opportunity);
        let mv = |from, to| Move {
            entity: StatusEntity::Opportunity,
            from,
            to,
            user: None,
        };
        assert!(FixedStatuses::check(&s, mv("new", "won")).is_ok());
        let lost = FixedStatuses::check(&s, mv("offer_sent", "lost")).unwrap();
        assert!(lost.requires_reason);
        assert!(FixedStatuses::check(&s, mv("won", "offer_sent")).is_ok());
        let e = FixedStatuses::check(&s, mv("won", "lost")).unwrap_err();
        assert_eq!(e.problem().kind, "transition_not_allowed");
        assert_eq!(
            e.problem().extra.unwrap()["allowed"][0],
            serde_json::json!("new")
        );
        let e = FixedStatuses::check(&s, mv("new", "sold")).unwrap_err();
        assert_eq!(e.problem().kind, "unknown_status");
    }
}
