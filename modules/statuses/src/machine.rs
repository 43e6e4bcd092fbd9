//! A tenant's statuses of one entity as the rules need them (the "machine"): read in three
//! statements, cached per tenant and entity, and the decision whether a move is allowed.
//!
//! The cache key holds the tenant's statuses generation, which every statuses write moves on
//! after its commit (`AfterCommit::Bump`): an answer read before a change is cached under the
//! old generation and never served after it. The port is asked on every opportunity write and
//! lead intake, so in the steady state it reads two cache entries and no table.

use crate::statuses::entities::{policy, status, transition};
use forecourt_core::{
    App, Result,
    cache::CacheKey,
    ports::statuses::{
        Move, StatusEntity, StatusFacts, StatusKind, StatusSet, TransitionRule,
        transition_not_allowed, unknown_status,
    },
    tenancy::{TenantId, TenantScoped},
};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// How long a cached machine lives without a write (a write moves the generation on first).
const TTL: Duration = Duration::from_secs(600);

/// Which moves a tenant allows for an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Any status to any other that is not archived (a closed record may be reopened).
    Free,
    /// Only the listed transitions.
    Listed,
}

impl Mode {
    /// The stored and shown key.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Free => "free",
            Mode::Listed => "listed",
        }
    }

    /// The mode of a stored key (an unknown one is `free`: it never refuses a move).
    pub fn parse(s: &str) -> Self {
        if s == "listed" {
            Mode::Listed
        } else {
            Mode::Free
        }
    }
}

/// The stored key of a kind.
pub fn kind_str(k: StatusKind) -> &'static str {
    match k {
        StatusKind::Open => "open",
        StatusKind::Won => "won",
        StatusKind::Lost => "lost",
    }
}

/// The kind of a stored key (an unknown one is open, like an unknown status).
pub fn kind_of(s: &str) -> StatusKind {
    match s {
        "won" => StatusKind::Won,
        "lost" => StatusKind::Lost,
        _ => StatusKind::Open,
    }
}

/// One status, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: Uuid,
    pub key: String,
    pub kind: String,
    pub exempt: bool,
    pub initial: bool,
    pub probability: u8,
    pub reserves_vehicle: bool,
    pub archived: bool,
}

/// One listed transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// `None`: from any open status.
    pub from: Option<Uuid>,
    pub to: Uuid,
    pub requires_reason: bool,
    pub required_fields: Vec<String>,
    /// `None`: anyone who may change the record.
    pub roles: Option<Vec<String>>,
}

/// A tenant's statuses of one entity, in order, with the policy and the listed transitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub mode: Mode,
    pub statuses: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Machine {
    /// The statuses as the port answers them.
    pub fn set(&self) -> StatusSet {
        StatusSet(
            self.statuses
                .iter()
                .map(|n| StatusFacts {
                    key: n.key.clone(),
                    kind: kind_of(&n.kind),
                    exempt_from_expiry: n.exempt,
                    initial: n.initial,
                    id: Some(n.id),
                    probability: n.probability,
                    reserves_vehicle: n.reserves_vehicle,
                    archived: n.archived,
                })
                .collect(),
        )
    }

    fn node(&self, key: &str) -> Option<&Node> {
        self.statuses.iter().find(|n| n.key == key)
    }

    /// The listed transitions that leave `from` (a key): those from it, and those from any
    /// status when it is open (closing is final unless a transition out of the closed status
    /// is listed). A status the set does not know counts as open.
    fn out_of<'a>(&'a self, from: &str) -> impl Iterator<Item = &'a Edge> + 'a {
        let node = self.node(from);
        let id = node.map(|n| n.id);
        let open = node.is_none_or(|n| !kind_of(&n.kind).is_closed());
        self.edges.iter().filter(move |e| match e.from {
            Some(f) => Some(f) == id,
            None => open,
        })
    }

    /// Whether deciding `m` needs the user's roles: a user moves under the listed policy and
    /// some transition out of `m.from` is limited to roles. The roles are read only then.
    pub fn needs_roles(&self, m: &Move<'_>) -> bool {
        self.mode == Mode::Listed
            && m.user.is_some()
            && self.out_of(m.from).any(|e| e.roles.is_some())
    }

    /// Whether the tenant allows `m`, for a user with `roles` (ignored for the system, whose
    /// moves are not limited by role), and what the move then asks for. A move to a lost
    /// status always needs a reason.
    pub fn decide(&self, m: &Move<'_>, roles: &[String]) -> Result<TransitionRule> {
        let Some(to) = self.node(m.to).filter(|n| !n.archived) else {
            return Err(unknown_status(&self.set(), m.to));
        };
        let lost = kind_of(&to.kind) == StatusKind::Lost;
        let closed = |k: &str| self.node(k).is_some_and(|n| kind_of(&n.kind).is_closed());
        if closed(m.from) && closed(m.to) && (self.mode == Mode::Free || m.from == m.to) {
            // Closing is final: a closed record only reopens (closing it again, even in the
            // same status, would rewrite its outcome), unless a listed policy says otherwise.
            let allowed = self
                .statuses
                .iter()
                .filter(|n| !n.archived && !kind_of(&n.kind).is_closed())
                .map(|n| n.key.clone())
                .collect();
            return Err(transition_not_allowed(m.from, m.to, allowed));
        }
        if self.mode == Mode::Free || m.from == m.to {
            // Staying in one's status moves nothing: no transition to list.
            return Ok(TransitionRule {
                requires_reason: lost,
                required_fields: Vec::new(),
            });
        }
        let usable = |e: &&Edge| {
            m.user.is_none()
                || e.roles
                    .as_ref()
                    .is_none_or(|r| r.iter().any(|x| roles.contains(x)))
        };
        // A transition listed from this very status wins over one from any status.
        let chosen = self
            .out_of(m.from)
            .filter(usable)
            .filter(|e| e.to == to.id)
            .min_by_key(|e| e.from.is_none());
        if let Some(e) = chosen {
            return Ok(TransitionRule {
                requires_reason: e.requires_reason || lost,
                required_fields: e.required_fields.clone(),
            });
        }
        let reachable: Vec<Uuid> = self.out_of(m.from).filter(usable).map(|e| e.to).collect();
        let allowed = self
            .statuses
            .iter()
            .filter(|n| !n.archived && reachable.contains(&n.id))
            .map(|n| n.key.clone())
            .collect();
        Err(transition_not_allowed(m.from, m.to, allowed))
    }
}

/// The cache key of a tenant's statuses generation (see the module documentation).
pub fn generation_key(t: TenantId) -> CacheKey {
    CacheKey::tenant(t.uuid(), "statuses:generation")
}

/// Reads the machine of `entity` from the tables: three statements.
pub async fn load(
    conn: &impl ConnectionTrait,
    t: TenantId,
    entity: StatusEntity,
) -> Result<Machine> {
    let e = entity.as_str();
    let statuses = status::Entity::scoped(&t)
        .filter(status::Column::Entity.eq(e))
        .order_by_asc(status::Column::Position)
        .order_by_asc(status::Column::Key)
        .all(conn)
        .await?;
    let edges = transition::Entity::scoped(&t)
        .filter(transition::Column::Entity.eq(e))
        .order_by_asc(transition::Column::Id)
        .all(conn)
        .await?;
    let mode = policy::Entity::scoped(&t)
        .filter(policy::Column::Entity.eq(e))
        .one(conn)
        .await?
        .map_or(Mode::Free, |p| Mode::parse(&p.mode));
    Ok(Machine {
        mode,
        statuses: statuses
            .into_iter()
            .map(|s| Node {
                id: s.id,
                key: s.key,
                kind: s.kind,
                exempt: s.exempt_from_expiry,
                initial: s.initial,
                probability: s.probability.clamp(0, 100) as u8,
                reserves_vehicle: s.reserves_vehicle,
                archived: s.archived_at.is_some(),
            })
            .collect(),
        edges: edges
            .into_iter()
            .map(|t| Edge {
                from: t.from_status_id,
                to: t.to_status_id,
                requires_reason: t.requires_reason,
                required_fields: strings(&t.required_fields),
                roles: t.roles.as_ref().map(strings),
            })
            .collect(),
    })
}

/// The strings of a stored JSON array (anything else is empty).
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The machine of `entity`, from the cache when a read since the last write put it there.
/// Must not be called inside a transaction that changed the tenant's statuses (it would cache
/// what that transaction has not committed).
pub async fn cached(
    app: &App,
    conn: &impl ConnectionTrait,
    t: TenantId,
    entity: StatusEntity,
) -> Result<Machine> {
    let generation = app.cache.count(&generation_key(t)).await;
    let key = CacheKey::tenant(
        t.uuid(),
        &format!("statuses:{}:{generation}", entity.as_str()),
    );
    if let Some(m) = app.cache.get::<Machine>(&key).await {
        return Ok(m);
    }
    let m = load(conn, t, entity).await?;
    app.cache.set(&key, &m, TTL).await;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str, kind: &str) -> Node {
        Node {
            id: Uuid::now_v7(),
            key: key.into(),
            kind: kind.into(),
            exempt: false,
            initial: key == "new",
            probability: 50,
            reserves_vehicle: false,
            archived: false,
        }
    }

    fn machine(mode: Mode) -> Machine {
        Machine {
            mode,
            statuses: vec![
                node("new", "open"),
                node("offer_sent", "open"),
                node("negotiation", "open"),
                node("won", "won"),
                node("lost", "lost"),
                Node {
                    archived: true,
                    ..node("old", "open")
                },
            ],
            edges: vec![],
        }
    }

    fn id(m: &Machine, key: &str) -> Uuid {
        m.node(key).unwrap().id
    }

    fn edge(m: &Machine, from: Option<&str>, to: &str) -> Edge {
        Edge {
            from: from.map(|f| id(m, f)),
            to: id(m, to),
            requires_reason: false,
            required_fields: vec![],
            roles: None,
        }
    }

    fn mv<'a>(from: &'a str, to: &'a str, user: Option<Uuid>) -> Move<'a> {
        Move {
            entity: StatusEntity::Opportunity,
            from,
            to,
            user,
        }
    }

    fn refusal(r: Result<TransitionRule>) -> (String, serde_json::Value) {
        let p = r.unwrap_err().problem();
        (p.kind, p.extra.unwrap_or_default()["allowed"].clone())
    }

    #[test]
    fn free_allows_any_move_to_a_status_that_is_not_archived_but_between_closed_ones() {
        let m = machine(Mode::Free);
        let user = Some(Uuid::now_v7());
        assert!(m.decide(&mv("new", "won", user), &[]).is_ok());
        assert!(m.decide(&mv("won", "new", user), &[]).is_ok(), "reopen");
        assert_eq!(
            refusal(m.decide(&mv("lost", "won", user), &[])).0,
            "transition_not_allowed",
            "closing is final"
        );
        assert_eq!(
            refusal(m.decide(&mv("lost", "lost", user), &[])).0,
            "transition_not_allowed",
            "closing again in the same status"
        );
        assert!(
            m.decide(&mv("new", "lost", user), &[])
                .unwrap()
                .requires_reason
        );
        assert!(
            !m.decide(&mv("new", "won", user), &[])
                .unwrap()
                .requires_reason
        );
        assert_eq!(
            refusal(m.decide(&mv("new", "old", user), &[])).0,
            "unknown_status"
        );
        assert_eq!(
            refusal(m.decide(&mv("new", "nope", user), &[])).0,
            "unknown_status"
        );
    }

    #[test]
    fn listed_allows_only_listed_moves_and_names_the_allowed_ones() {
        let mut m = machine(Mode::Listed);
        m.edges = vec![
            edge(&m, Some("new"), "offer_sent"),
            edge(&m, Some("offer_sent"), "negotiation"),
            Edge {
                requires_reason: true,
                required_fields: vec!["offer_id".into()],
                ..edge(&m, Some("negotiation"), "won")
            },
            edge(&m, None, "lost"),
            edge(&m, Some("new"), "old"),
        ];
        let user = Some(Uuid::now_v7());
        assert!(m.decide(&mv("new", "offer_sent", user), &[]).is_ok());
        let (kind, allowed) = refusal(m.decide(&mv("new", "won", user), &[]));
        assert_eq!(kind, "transition_not_allowed");
        // The archived target is never offered; the move from any status is.
        assert_eq!(allowed, serde_json::json!(["offer_sent", "lost"]));
        let rule = m.decide(&mv("negotiation", "won", user), &[]).unwrap();
        assert!(rule.requires_reason);
        assert_eq!(rule.required_fields, ["offer_id"]);
        // Lost from any open status, always with a reason.
        assert!(
            m.decide(&mv("offer_sent", "lost", user), &[])
                .unwrap()
                .requires_reason
        );
        // Staying put moves nothing.
        assert!(m.decide(&mv("offer_sent", "offer_sent", user), &[]).is_ok());
    }

    #[test]
    fn listed_closing_is_final_unless_a_move_out_of_the_closed_status_is_listed() {
        let mut m = machine(Mode::Listed);
        m.edges = vec![edge(&m, None, "new"), edge(&m, None, "lost")];
        let user = Some(Uuid::now_v7());
        assert!(m.decide(&mv("offer_sent", "new", user), &[]).is_ok());
        let (kind, allowed) = refusal(m.decide(&mv("won", "new", user), &[]));
        assert_eq!(kind, "transition_not_allowed");
        assert_eq!(allowed, serde_json::json!([]));
        m.edges.push(edge(&m, Some("won"), "offer_sent"));
        assert!(m.decide(&mv("won", "offer_sent", user), &[]).is_ok());
        assert!(m.decide(&mv("won", "new", user), &[]).is_err());
    }

    #[test]
    fn listed_transitions_limited_to_roles_check_the_users_roles() {
        let mut m = machine(Mode::Listed);
        m.edges = vec![
            edge(&m, Some("new"), "offer_sent"),
            Edge {
                roles: Some(vec!["manager".into()]),
                ..edge(&m, Some("new"), "won")
            },
        ];
        let user = Some(Uuid::now_v7());
        let from_new = mv("new", "won", user);
        assert!(m.needs_roles(&from_new));
        assert!(
            !m.needs_roles(&mv("offer_sent", "won", user)),
            "nothing limited there"
        );
        assert!(
            !m.needs_roles(&mv("new", "won", None)),
            "the system is not limited"
        );
        let (kind, allowed) = refusal(m.decide(&from_new, &["salesperson".into()]));
        assert_eq!(kind, "transition_not_allowed");
        assert_eq!(allowed, serde_json::json!(["offer_sent"]));
        assert!(m.decide(&from_new, &["manager".into()]).is_ok());
        assert!(m.decide(&mv("new", "won", None), &[]).is_ok());
        assert!(
            !Machine {
                mode: Mode::Free,
                ..m
            }
            .needs_roles(&from_new)
        );
    }

    #[test]
    fn the_set_flags_archived_statuses_and_keeps_the_order() {
        let m = machine(Mode::Free);
        let set = m.set();
        assert_eq!(
            set.keys().collect::<Vec<_>>(),
            ["new", "offer_sent", "negotiation", "won", "lost", "old"]
        );
        assert!(set.get("old").unwrap().archived);
        assert_eq!(set.initial(), Some("new"));
        assert_eq!(set.kind("won"), StatusKind::Won);
    }
}
