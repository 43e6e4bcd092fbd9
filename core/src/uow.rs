//! One unit of work per write: the transaction, who acts and when, the activity entries, the
//! events modules react to inside the transaction, and the actions that must wait until the
//! commit succeeded (cache invalidation, the mailer's wake-up). A write opens it from its
//! tenant context ([`Uow::begin`]) or as a named system job ([`Uow::system`]), does its work
//! on [`Uow::txn`], and ends with [`Uow::commit`]; dropping it rolls everything back and runs
//! none of the after-commit actions.

use crate::{
    App, Result,
    activity::{self, Actor},
    cache::{CacheKey, Invalidation},
    context::TenantUser,
    events::Event,
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter, UpdateMany, prelude::Expr,
};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// How long a generation counter bumped by [`AfterCommit::Bump`] lives without a bump.
const GENERATION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Something to do once the unit of work has committed, never before (a search running in
/// between must not cache the old state under the new generation) and never after a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterCommit {
    /// Moves a generation counter on, so every cached answer keyed by the old one goes stale.
    Bump(CacheKey),
    /// Forgets one cached value.
    Forget(CacheKey),
    /// Tells every node (per-node caches of permissions, tenants).
    Publish(Invalidation),
    /// Wakes the mail worker: the transaction queued mail.
    WakeMailer,
    /// The tenant's roles or grants changed: this node drops its enforcer at once (so the
    /// caller's next request already sees the change) and the other nodes are told.
    AuthzChanged(TenantId),
}

/// One entry of the activity log, built by its parts instead of eight positional arguments.
#[derive(Debug, Clone)]
pub struct Activity {
    entity_type: &'static str,
    entity_id: Uuid,
    action: String,
    changes: Value,
    at: Option<DateTime<Utc>>,
}

impl Activity {
    /// `action` (e.g. `updated`) on the record `entity_id` of type `entity_type` (e.g.
    /// `contact`), with no field changes and at the unit of work's time.
    pub fn new(entity_type: &'static str, entity_id: Uuid, action: impl Into<String>) -> Self {
        Self {
            entity_type,
            entity_id,
            action: action.into(),
            changes: Value::Object(Default::default()),
            at: None,
        }
    }

    /// The changed fields, as `{field: value}` or `{field: {from, to}}` ([`activity::diff`]).
    pub fn changes(mut self, changes: Value) -> Self {
        self.changes = changes;
        self
    }

    /// When it happened, when not the unit of work's time (a lead received earlier).
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }
}

/// A table whose rows carry a version for optimistic writes (ETag / If-Match); implement it
/// with [`versioned!`](crate::versioned).
pub trait Versioned: TenantScoped {
    /// The primary key column.
    fn id_column() -> Self::Column;
    /// The version column.
    fn version_column() -> Self::Column;
}

/// Declares tenant tables with `id` and `version` columns as [`Versioned`].
#[macro_export]
macro_rules! versioned {
    ($($m:ident),+ $(,)?) => {
        $(impl $crate::uow::Versioned for $m::Entity {
            fn id_column() -> $m::Column {
                $m::Column::Id
            }
            fn version_column() -> $m::Column {
                $m::Column::Version
            }
        })+
    };
}

/// The version claim behind every optimistic write (see [`Uow::claim`]), for a write that
/// runs in a transaction it was handed (a lead landing in its connector's transaction):
/// bumps the row's version from `version` only when it is still there, and sets in the same
/// statement whatever `also` adds. `false` when another writer got there first.
pub async fn claim<E: Versioned>(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    version: i32,
    also: impl FnOnce(UpdateMany<E>) -> UpdateMany<E>,
) -> Result<bool> {
    let update = E::update_in(t)
        .col_expr(E::version_column(), Expr::value(version + 1))
        .filter(E::id_column().eq(id))
        .filter(E::version_column().eq(version));
    Ok(also(update).exec(conn).await?.rows_affected == 1)
}

/// Who acts in a unit of work.
#[derive(Debug, Clone)]
enum Acting {
    User(TenantUser),
    System(&'static str),
}

/// One write: see the module documentation.
pub struct Uow<'a> {
    app: &'a App,
    txn: DatabaseTransaction,
    tenant: TenantId,
    acting: Acting,
    now: DateTime<Utc>,
    after: Vec<AfterCommit>,
    /// Activity entries, written in one statement just before the commit.
    entries: std::sync::Mutex<Vec<crate::entities::activity_log::ActiveModel>>,
}

impl std::fmt::Debug for Uow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uow")
            .field("tenant", &self.tenant)
            .field("acting", &self.acting)
            .field("now", &self.now)
            .field("after", &self.after)
            .finish()
    }
}

impl<'a> Uow<'a> {
    /// Opens a unit of work for the caller of `cx`, at the clock's time.
    pub async fn begin(app: &'a App, cx: &Cx) -> Result<Self> {
        Self::open(app, cx.tenant(), Acting::User(cx.user().clone())).await
    }

    /// Opens a unit of work for a job of the platform acting in a tenant (e.g. `expiry-sweep`,
    /// a partner's connector), at the clock's time.
    pub async fn system(app: &'a App, tenant: TenantId, name: &'static str) -> Result<Self> {
        Self::open(app, tenant, Acting::System(name)).await
    }

    /// Opens a unit of work for a user proven by something other than a grant, such as the
    /// holder of a password-reset link acting on their own account: the entries name the user.
    pub async fn on_behalf_of(app: &'a App, user: &TenantUser) -> Result<Self> {
        Self::open(app, user.tenant(), Acting::User(user.clone())).await
    }

    async fn open(app: &'a App, tenant: TenantId, acting: Acting) -> Result<Self> {
        Ok(Self {
            app,
            txn: crate::db::begin(&app.db).await?,
            tenant,
            acting,
            now: app.clock.now(),
            after: Vec::new(),
            entries: Default::default(),
        })
    }

    /// The same unit of work with another "now" (a lead is judged at the time it arrived).
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// The time of this unit of work: every stamp it writes uses it.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The application state.
    pub fn app(&self) -> &'a App {
        self.app
    }

    /// The transaction: every statement of the write runs on it.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The acting user, `None` for a system job.
    pub fn user(&self) -> Option<&TenantUser> {
        match &self.acting {
            Acting::User(u) => Some(u),
            Acting::System(_) => None,
        }
    }

    /// The acting user's id, `None` for a system job (for `created_by` columns).
    pub fn user_id(&self) -> Option<Uuid> {
        self.user().map(|u| u.user_id)
    }

    /// Adds an activity entry to the write: all of a unit of work's entries are inserted in
    /// one statement inside its transaction, just before it commits.
    pub async fn record(&self, entry: Activity) -> Result<()> {
        let actor = match &self.acting {
            Acting::User(u) => Actor::User(u),
            Acting::System(name) => Actor::System(name),
        };
        let row = activity::entry(
            self.tenant.uuid(),
            actor,
            entry.at.unwrap_or(self.now),
            entry.entity_type,
            entry.entity_id,
            &entry.action,
            entry.changes,
        );
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(row);
        Ok(())
    }

    /// Delivers a core event to every module inside the transaction: a module's failure
    /// rolls the whole write back.
    pub async fn emit(&self, event: &Event) -> Result<()> {
        self.app.registry.dispatch(self.app, &self.txn, event).await
    }

    /// Queues an action for after the commit (kept once even when queued twice).
    pub fn after_commit(&mut self, action: AfterCommit) {
        if !self.after.contains(&action) {
            self.after.push(action);
        }
    }

    /// Claims a versioned row for this transaction: bumps its version from `version` to
    /// `version + 1`, only when it is still at `version`. `false` when another writer got
    /// there first (the caller answers 412 or 409). On PostgreSQL the update holds the row
    /// lock until the commit, so concurrent writers to one row run one after the other.
    pub async fn claim<E: Versioned>(&self, id: Uuid, version: i32) -> Result<bool> {
        claim::<E>(&self.txn, &self.tenant, id, version, |u| u).await
    }

    /// Writes the activity entries, commits, then runs the after-commit actions in the order
    /// they were queued.
    pub async fn commit(self) -> Result<()> {
        let Self {
            app,
            txn,
            after,
            entries,
            ..
        } = self;
        let entries = entries.into_inner().unwrap_or_else(|e| e.into_inner());
        activity::record_all(&txn, entries).await?;
        txn.commit().await?;
        for action in after {
            match action {
                AfterCommit::Bump(key) => {
                    app.cache.incr(&key, GENERATION_TTL).await;
                }
                AfterCommit::Forget(key) => app.cache.delete(&key).await,
                AfterCommit::Publish(inv) => app.announce(inv).await,
                AfterCommit::WakeMailer => app.mail.wake(),
                AfterCommit::AuthzChanged(tenant) => app.authz.changed(tenant.uuid()).await,
            }
        }
        Ok(())
    }

    /// Rolls back now (dropping the unit of work rolls back too, but later and without
    /// telling whether it worked); no after-commit action runs.
    pub async fn rollback(self) -> Result<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}

impl std::ops::Deref for Uow<'_> {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl Tenanted for Uow<'_> {
    fn tenant(&self) -> TenantId {
        self.tenant
    }
}
