//! The `Statuses` port as this module answers it: the tenant's own statuses and policy while
//! the tenant has the module, the built-in machine ([`FixedStatuses`]) otherwise.

use crate::machine::{self, Machine};
use crate::statuses::entities::status;
use forecourt_core::{
    App, Result,
    cache::CacheKey,
    ports::statuses::{FixedStatuses, Move, StatusEntity, StatusSet, Statuses, TransitionRule},
    tenancy::{TenantId, TenantScoped},
};
use sea_orm::{
    ColumnTrait, DatabaseExecutor, DatabaseTransaction, QueryFilter, prelude::Expr,
    sea_query::ExprTrait,
};

/// The module's id (the port asks whether the tenant has it).
pub const MODULE_ID: &str = "statuses";

/// Answers each tenant's own statuses (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct TenantStatuses;

impl TenantStatuses {
    /// The tenant's machine of `entity`, `None` when the tenant lacks the module (Go, or
    /// switched off) or has no statuses of the entity (never seeded): the built-in machine
    /// answers then. The tenant's facts are kept in process, so asking costs no statement.
    async fn machine(
        app: &App,
        db: &DatabaseExecutor<'_>,
        tenant: TenantId,
        entity: StatusEntity,
    ) -> Result<Option<Machine>> {
        let info = app.ports.directory.tenant_info(app, tenant.uuid()).await?;
        let on = app
            .registry
            .get(MODULE_ID)
            .is_some_and(|m| app.registry.is_available(m, info.as_ref()));
        if !on {
            return Ok(None);
        }
        let m = machine::cached(app, db, tenant, entity).await?;
        Ok((!m.statuses.is_empty()).then_some(m))
    }
}

#[async_trait::async_trait]
impl Statuses<App> for TenantStatuses {
    async fn of(
        &self,
        app: &App,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        entity: StatusEntity,
    ) -> Result<StatusSet> {
        Ok(match Self::machine(app, &db, tenant, entity).await? {
            Some(m) => m.set(),
            None => FixedStatuses::set(entity),
        })
    }

    async fn transition(
        &self,
        app: &App,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        m: Move<'_>,
    ) -> Result<TransitionRule> {
        let Some(machine) = Self::machine(app, &db, tenant, m.entity).await? else {
            return FixedStatuses::check(&FixedStatuses::set(m.entity), m);
        };
        let roles = match m.user {
            // Read on the caller's connection (its transaction, when it has one).
            Some(user) if machine.needs_roles(&m) => {
                forecourt_core::authz::user_roles(&db, tenant.uuid(), user).await?
            }
            _ => Vec::new(),
        };
        machine.decide(&m, &roles)
    }

    async fn set_exempt(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        tenant: TenantId,
        entity: StatusEntity,
        keys: &[String],
    ) -> Result<Option<CacheKey>> {
        let db: DatabaseExecutor<'_> = txn.into();
        if Self::machine(app, &db, tenant, entity).await?.is_none() {
            return Ok(None);
        }
        // Two statements whatever the number of statuses: the listed ones on, the others off.
        for (exempt, filter) in [
            (true, status::Column::Key.is_in(keys.iter().cloned())),
            (false, status::Column::Key.is_not_in(keys.iter().cloned())),
        ] {
            status::Entity::update_in(&tenant)
                .col_expr(status::Column::ExemptFromExpiry, Expr::value(exempt))
                // Clients holding an ETag of a changed status must see it changed.
                .col_expr(
                    status::Column::Version,
                    Expr::col(status::Column::Version).add(1),
                )
                .col_expr(status::Column::UpdatedAt, Expr::value(app.clock.now()))
                .filter(status::Column::Entity.eq(entity.as_str()))
                .filter(status::Column::ExemptFromExpiry.ne(exempt))
                .filter(filter)
                .exec(txn)
                .await?;
        }
        Ok(Some(machine::generation_key(tenant)))
    }
}
