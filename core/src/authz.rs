//! Permissions: casbin RBAC with domains (domain = tenant), policies in the database.
//!
//! The database is the source of truth; each node keeps one casbin enforcer per tenant, loaded
//! through [`TenantAdapter`], which can only ever see its own tenant's rows. Changes are written
//! in the caller's transaction, bump the tenant's version, and are announced on the
//! invalidation channel; a periodic version check catches announcements a node missed.
//!
//! Subjects are `user:<id>` and `role:<name>`; a grant is `p, subject, tenant, object, action,
//! scope`; a role assignment is `g, user:<id>, role:<name>, tenant`. `admin` implies every
//! action on its object, `write` and `delete` imply `read` (one cannot change what one cannot
//! see), and a wider scope implies the narrower ones.

use crate::msg;
use crate::{
    Error, Result,
    access::{Action, Scope},
    cache::{Cache, Invalidation},
    context::TenantUser,
    entities::{authz_version, casbin_rule},
    tenancy::{Cx, TenantId, TenantScoped},
};
use casbin::{Adapter, CoreApi, DefaultModel, Enforcer, Filter, Model};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ExprTrait, QueryFilter, QueryOrder, prelude::Expr, sea_query::OnConflict,
};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::RwLock;
use uuid::Uuid;

const MODEL: &str = r#"
[request_definition]
r = sub, dom, obj, act, scope

[policy_definition]
p = sub, dom, obj, act, scope

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && (r.act == p.act || p.act == "admin" || (r.act == "read" && (p.act == "write" || p.act == "delete"))) && (p.scope == r.scope || p.scope == "tenant" || (p.scope == "establishment" && r.scope == "own"))
"#;

/// A grant as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    /// `user:<id>` or `role:<name>`.
    pub subject: String,
    /// Permission object, e.g. `settings.sources`.
    pub object: String,
    /// Granted action.
    pub action: Action,
    /// Granted scope.
    pub scope: Scope,
}

/// The casbin subject of a user.
pub fn user_subject(user_id: Uuid) -> String {
    format!("user:{user_id}")
}

/// The casbin subject of a role.
pub fn role_subject(role: &str) -> String {
    format!("role:{role}")
}

/// A casbin adapter over sea-orm 2, bound to one tenant: it loads and writes only rows whose
/// `tenant_id` is its tenant, whatever domain a rule names.
pub struct TenantAdapter {
    db: DatabaseConnection,
    tenant_id: Uuid,
}

impl TenantAdapter {
    /// An adapter for one tenant.
    pub fn new(db: DatabaseConnection, tenant_id: Uuid) -> Self {
        Self { db, tenant_id }
    }
}

fn adapter_err(e: impl std::error::Error + Send + Sync + 'static) -> casbin::Error {
    casbin::error::AdapterError(Box::new(e)).into()
}

fn rule_values(rule: &[String]) -> [String; 6] {
    std::array::from_fn(|i| rule.get(i).cloned().unwrap_or_default())
}

fn rule_model(tenant_id: Uuid, ptype: &str, rule: &[String]) -> casbin_rule::ActiveModel {
    let [v0, v1, v2, v3, v4, v5] = rule_values(rule);
    casbin_rule::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        ptype: Set(ptype.to_string()),
        v0: Set(v0),
        v1: Set(v1),
        v2: Set(v2),
        v3: Set(v3),
        v4: Set(v4),
        v5: Set(v5),
    }
}

/// Rows matching a rule exactly, within a tenant.
fn rule_filter(
    tenant_id: Uuid,
    ptype: &str,
    rule: &[String],
) -> sea_orm::Select<casbin_rule::Entity> {
    let [v0, v1, v2, v3, v4, v5] = rule_values(rule);
    casbin_rule::Entity::scoped(&TenantId::new(tenant_id))
        .filter(casbin_rule::Column::Ptype.eq(ptype))
        .filter(casbin_rule::Column::V0.eq(v0))
        .filter(casbin_rule::Column::V1.eq(v1))
        .filter(casbin_rule::Column::V2.eq(v2))
        .filter(casbin_rule::Column::V3.eq(v3))
        .filter(casbin_rule::Column::V4.eq(v4))
        .filter(casbin_rule::Column::V5.eq(v5))
}

#[async_trait::async_trait]
impl Adapter for TenantAdapter {
    async fn load_policy(&mut self, m: &mut dyn Model) -> casbin::Result<()> {
        let rows = casbin_rule::Entity::scoped(&TenantId::new(self.tenant_id))
            .order_by_asc(casbin_rule::Column::Id)
            .all(&self.db)
            .await
            .map_err(adapter_err)?;
        for r in rows {
            let mut rule = vec![r.v0, r.v1, r.v2, r.v3, r.v4, r.v5];
            while rule.last().is_some_and(|v| v.is_empty()) {
                rule.pop();
            }
            let sec = if r.ptype.starts_with('g') { "g" } else { "p" };
            m.add_policy(sec, &r.ptype, rule);
        }
        Ok(())
    }

    async fn load_filtered_policy<'a>(
        &mut self,
        m: &mut dyn Model,
        _f: Filter<'a>,
    ) -> casbin::Result<()> {
        // The adapter is already filtered to its tenant; finer filters are not needed.
        self.load_policy(m).await
    }

    async fn save_policy(&mut self, _m: &mut dyn Model) -> casbin::Result<()> {
        // Policies are written rule by rule through [`Authz`]; bulk saves would bypass the
        // version bump and the invalidation, so they are refused.
        Err(adapter_err(std::io::Error::other(
            "save_policy is not supported; use Authz",
        )))
    }

    async fn clear_policy(&mut self) -> casbin::Result<()> {
        casbin_rule::Entity::delete_in(&TenantId::new(self.tenant_id))
            .exec(&self.db)
            .await
            .map_err(adapter_err)?;
        Ok(())
    }

    fn is_filtered(&self) -> bool {
        // The adapter holds its tenant's whole policy: for casbin that is the full policy, and
        // a "filtered" adapter would make `Enforcer::new` skip loading it.
        false
    }

    async fn add_policy(
        &mut self,
        _sec: &str,
        ptype: &str,
        rule: Vec<String>,
    ) -> casbin::Result<bool> {
        rule_model(self.tenant_id, ptype, &rule)
            .insert(&self.db)
            .await
            .map_err(adapter_err)?;
        Ok(true)
    }

    async fn add_policies(
        &mut self,
        sec: &str,
        ptype: &str,
        rules: Vec<Vec<String>>,
    ) -> casbin::Result<bool> {
        for rule in rules {
            self.add_policy(sec, ptype, rule).await?;
        }
        Ok(true)
    }

    async fn remove_policy(
        &mut self,
        _sec: &str,
        ptype: &str,
        rule: Vec<String>,
    ) -> casbin::Result<bool> {
        let found = rule_filter(self.tenant_id, ptype, &rule)
            .all(&self.db)
            .await
            .map_err(adapter_err)?;
        for r in &found {
            casbin_rule::Entity::delete_in(&TenantId::new(r.tenant_id))
                .filter(casbin_rule::Column::Id.eq(r.id))
                .exec(&self.db)
                .await
                .map_err(adapter_err)?;
        }
        Ok(!found.is_empty())
    }

    async fn remove_policies(
        &mut self,
        sec: &str,
        ptype: &str,
        rules: Vec<Vec<String>>,
    ) -> casbin::Result<bool> {
        let mut any = false;
        for rule in rules {
            any |= self.remove_policy(sec, ptype, rule).await?;
        }
        Ok(any)
    }

    async fn remove_filtered_policy(
        &mut self,
        _sec: &str,
        ptype: &str,
        field_index: usize,
        field_values: Vec<String>,
    ) -> casbin::Result<bool> {
        let cols = [
            casbin_rule::Column::V0,
            casbin_rule::Column::V1,
            casbin_rule::Column::V2,
            casbin_rule::Column::V3,
            casbin_rule::Column::V4,
            casbin_rule::Column::V5,
        ];
        let mut q = casbin_rule::Entity::delete_in(&TenantId::new(self.tenant_id))
            .filter(casbin_rule::Column::Ptype.eq(ptype));
        for (i, v) in field_values.iter().enumerate() {
            if let Some(col) = cols.get(field_index + i).filter(|_| !v.is_empty()) {
                q = q.filter(col.eq(v.clone()));
            }
        }
        let res = q.exec(&self.db).await.map_err(adapter_err)?;
        Ok(res.rows_affected > 0)
    }
}

/// One tenant's rules as loaded at `version`, with the decisions already taken on them. The
/// decisions live and die with the enforcer: a permission change drops both, so a cached
/// answer can never outlive the rules it came from.
struct Loaded {
    version: i64,
    enforcer: Arc<Enforcer>,
    decisions: Arc<Decisions>,
}

/// The widest scope found per (user, object, action): a request asks casbin up to three times
/// (tenant, establishment, own), each a matcher evaluation over every grant of the tenant;
/// the answer only changes when the rules do.
#[derive(Default)]
struct Decisions(std::sync::Mutex<HashMap<(Uuid, String, Action), Option<Scope>>>);

impl Decisions {
    /// Users × objects × actions of one tenant is small; the bound only guards memory against
    /// a tenant with an unusual number of users between two permission changes.
    const MAX: usize = 50_000;

    fn get(&self, user: Uuid, object: &str, action: Action) -> Option<Option<Scope>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(user, object.to_string(), action)).copied()
    }

    fn put(&self, user: Uuid, object: &str, action: Action, scope: Option<Scope>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert((user, object.to_string(), action), scope);
    }
}

/// The permission service of a node.
#[derive(Clone)]
pub struct Authz {
    db: DatabaseConnection,
    cache: Cache,
    loaded: Arc<RwLock<HashMap<Uuid, Loaded>>>,
}

impl std::fmt::Debug for Authz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authz")
    }
}

impl Authz {
    /// A permission service over the database, listening for invalidations on `cache`.
    pub fn new(db: DatabaseConnection, cache: Cache) -> Self {
        Self {
            db,
            cache,
            loaded: Arc::default(),
        }
    }

    /// Starts the two background tasks: applying invalidations, and the periodic version check.
    pub fn spawn_background(&self, refresh: Duration) {
        let this = self.clone();
        let mut rx = self.cache.subscribe();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(Invalidation::Authz { tenant_id }) => {
                        this.loaded.write().await.remove(&tenant_id);
                    }
                    Ok(Invalidation::All)
                    | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        this.loaded.write().await.clear();
                    }
                    Ok(Invalidation::Tenant { .. } | Invalidation::Principals { .. }) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(refresh);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = this.drop_stale().await {
                    tracing::warn!(error = %e, "permission version check failed");
                }
            }
        });
    }

    /// Drops the enforcers whose tenant version moved on in the database.
    pub async fn drop_stale(&self) -> Result<()> {
        let ids: Vec<Uuid> = self.loaded.read().await.keys().copied().collect();
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<TenantId> = ids.into_iter().map(TenantId::new).collect();
        let current: HashMap<Uuid, i64> = authz_version::Entity::of_tenants(&ids)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|v| (v.tenant_id, v.version))
            .collect();
        self.loaded
            .write()
            .await
            .retain(|t, l| current.get(t).is_some_and(|v| *v == l.version));
        Ok(())
    }

    async fn enforcer(&self, tenant_id: Uuid) -> Result<(Arc<Enforcer>, Arc<Decisions>)> {
        if let Some(l) = self.loaded.read().await.get(&tenant_id) {
            return Ok((l.enforcer.clone(), l.decisions.clone()));
        }
        // Read the version before the rules: a change racing with the load leaves us with an
        // older version number, so the next check reloads rather than keeping stale rules.
        let version = current_version(&self.db, tenant_id).await?;
        let model = DefaultModel::from_str(MODEL)
            .await
            .map_err(Error::internal)?;
        let enforcer = Enforcer::new(model, TenantAdapter::new(self.db.clone(), tenant_id))
            .await
            .map_err(Error::internal)?;
        let enforcer = Arc::new(enforcer);
        let decisions = Arc::new(Decisions::default());
        self.loaded.write().await.insert(
            tenant_id,
            Loaded {
                version,
                enforcer: enforcer.clone(),
                decisions: decisions.clone(),
            },
        );
        Ok((enforcer, decisions))
    }

    /// The tenant context of one operation: the caller may do `action` on `object`, at the
    /// widest scope its grants give (403 `forbidden` otherwise). Data functions take it, so
    /// the tenant and the scope travel together and cannot be forgotten.
    pub async fn context(&self, user: &TenantUser, object: &str, action: Action) -> Result<Cx> {
        let scope = self.require(user, object, action).await?;
        Ok(Cx::granted(user.clone(), scope))
    }

    /// The widest scope at which `user` may do `action` on `object`, if any.
    pub async fn scope(
        &self,
        user: &TenantUser,
        object: &str,
        action: Action,
    ) -> Result<Option<Scope>> {
        let (e, decisions) = self.enforcer(user.tenant_id).await?;
        if let Some(known) = decisions.get(user.user_id, object, action) {
            return Ok(known);
        }
        let found = Self::widest(&e, user, object, action)?;
        decisions.put(user.user_id, object, action, found);
        Ok(found)
    }

    fn widest(
        e: &Enforcer,
        user: &TenantUser,
        object: &str,
        action: Action,
    ) -> Result<Option<Scope>> {
        let sub = user_subject(user.user_id);
        let dom = user.tenant_id.to_string();
        for scope in [Scope::Tenant, Scope::Establishment, Scope::Own] {
            let ok = e
                .enforce((
                    sub.as_str(),
                    dom.as_str(),
                    object,
                    action.as_str(),
                    scope.as_str(),
                ))
                .map_err(Error::internal)?;
            if ok {
                return Ok(Some(scope));
            }
        }
        Ok(None)
    }

    /// Like [`Authz::scope`], but a missing permission is a 403 naming it.
    pub async fn require(&self, user: &TenantUser, object: &str, action: Action) -> Result<Scope> {
        self.scope(user, object, action).await?.ok_or_else(|| {
            Error::forbidden(msg!(
                "you lack the permission `{object}` / `{action}`",
                object,
                action = action.as_str()
            ))
        })
    }

    /// The roles of a user.
    pub async fn user_roles(&self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<String>> {
        user_roles(&self.db, tenant_id, user_id).await
    }

    /// Announces a change to every node. Call after the transaction that made it commits.
    pub async fn changed(&self, tenant_id: Uuid) {
        self.loaded.write().await.remove(&tenant_id);
        self.cache.publish(Invalidation::Authz { tenant_id }).await;
    }
}

async fn current_version(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<i64> {
    Ok(authz_version::Entity::scoped(&TenantId::new(tenant_id))
        .one(conn)
        .await?
        .map(|v| v.version)
        .unwrap_or(0))
}

/// Bumps a tenant's permission version (inside the transaction of the change).
pub async fn bump_version(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<()> {
    authz_version::Entity::insert(authz_version::ActiveModel {
        tenant_id: Set(tenant_id),
        version: Set(1),
    })
    .on_conflict(
        OnConflict::column(authz_version::Column::TenantId)
            .value(
                authz_version::Column::Version,
                Expr::col((authz_version::Entity, authz_version::Column::Version)).add(1),
            )
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The roles of a user, read from the rules.
pub async fn user_roles(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<String>> {
    let rows = casbin_rule::Entity::scoped(&TenantId::new(tenant_id))
        .filter(casbin_rule::Column::Ptype.eq("g"))
        .filter(casbin_rule::Column::V0.eq(user_subject(user_id)))
        .order_by_asc(casbin_rule::Column::V1)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.v1.strip_prefix("role:").map(str::to_string))
        .collect())
}

/// Replaces a user's roles (inside the caller's transaction; bumps the version).
pub async fn set_user_roles(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    roles: &[String],
) -> Result<()> {
    casbin_rule::Entity::delete_in(&TenantId::new(tenant_id))
        .filter(casbin_rule::Column::Ptype.eq("g"))
        .filter(casbin_rule::Column::V0.eq(user_subject(user_id)))
        .exec(conn)
        .await?;
    for role in roles {
        let rule = [
            user_subject(user_id),
            role_subject(role),
            tenant_id.to_string(),
        ];
        rule_model(tenant_id, "g", &rule).insert(conn).await?;
    }
    bump_version(conn, tenant_id).await
}

/// Adds a grant; `false` when it already existed.
pub async fn add_grant(conn: &impl ConnectionTrait, tenant_id: Uuid, g: &Grant) -> Result<bool> {
    let rule = grant_rule(tenant_id, g);
    if rule_filter(tenant_id, "p", &rule)
        .one(conn)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    rule_model(tenant_id, "p", &rule).insert(conn).await?;
    bump_version(conn, tenant_id).await?;
    Ok(true)
}

/// Removes a grant; `false` when there was none.
pub async fn remove_grant(conn: &impl ConnectionTrait, tenant_id: Uuid, g: &Grant) -> Result<bool> {
    let rule = grant_rule(tenant_id, g);
    let found = rule_filter(tenant_id, "p", &rule).all(conn).await?;
    for r in &found {
        casbin_rule::Entity::delete_in(&TenantId::new(r.tenant_id))
            .filter(casbin_rule::Column::Id.eq(r.id))
            .exec(conn)
            .await?;
    }
    if !found.is_empty() {
        bump_version(conn, tenant_id).await?;
    }
    Ok(!found.is_empty())
}

fn grant_rule(tenant_id: Uuid, g: &Grant) -> [String; 5] {
    [
        g.subject.clone(),
        tenant_id.to_string(),
        g.object.clone(),
        g.action.as_str().to_string(),
        g.scope.as_str().to_string(),
    ]
}

/// The grants of a tenant, optionally for one subject (direct grants only).
pub async fn grants(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    subject: Option<&str>,
) -> Result<Vec<Grant>> {
    let mut q = casbin_rule::Entity::scoped(&TenantId::new(tenant_id))
        .filter(casbin_rule::Column::Ptype.eq("p"));
    if let Some(s) = subject {
        q = q.filter(casbin_rule::Column::V0.eq(s));
    }
    let rows = q
        .order_by_asc(casbin_rule::Column::V0)
        .order_by_asc(casbin_rule::Column::V2)
        .order_by_asc(casbin_rule::Column::V3)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Grant {
                subject: r.v0,
                object: r.v2,
                action: Action::parse(&r.v3)?,
                scope: Scope::parse(&r.v4)?,
            })
        })
        .collect())
}

/// The role names that have at least one grant or member in a tenant.
pub async fn role_names(conn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Vec<String>> {
    let rows = casbin_rule::Entity::scoped(&TenantId::new(tenant_id))
        .all(conn)
        .await?;
    let mut names: Vec<String> = rows
        .into_iter()
        .filter_map(|r| {
            let s = if r.ptype == "g" { r.v1 } else { r.v0 };
            s.strip_prefix("role:").map(str::to_string)
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}
