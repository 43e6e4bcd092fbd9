//! Status moves of opportunities: every change goes through the statuses port (the tenant's
//! policy, else the built-in machine), into the shared status history, and carries its
//! consequences in the same transaction (see [`crate::opportunities::outcome`]).

use crate::opportunities::{
    entities::opportunity,
    links::vehicles_of,
    outcome,
    service::{Change, closed, load, lock_in, statuses},
};
use forecourt_core::{
    App, Error, Result,
    ports::statuses::{Move, StatusEntity, StatusKind, StatusSet},
    status_history::{self, Cause, StatusChange, StatusMove},
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::Activity,
    uow::Uow,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    PaginatorTrait, QueryFilter, QuerySelect, prelude::Expr, sea_query::ExprTrait,
};
use serde_json::json;
use uuid::Uuid;

/// Changes the status, as the tenant's statuses allow (the `statuses` module's policy, else
/// the built-in machine): a closing kind sets `closed_at`, an open one reopens and clears it.
/// Closing is final: leaving a won or lost status for another closed one is 409
/// `opportunity_closed` unless the tenant lists that transition. The move is in the status
/// history with the time spent in the status left.
pub(crate) async fn change_status(
    app: &App,
    cx: &Cx,
    id: Uuid,
    b: StatusChange,
) -> Result<opportunity::Model> {
    let reason = status_history::clean(b.reason);
    let note = status_history::clean(b.note);
    let mut uow = Uow::begin(app, cx).await?;
    let set = statuses(app, uow.txn().into(), cx).await?;
    let o = lock_in(&uow, cx, id, Change::Status, &set).await?;
    let rule = app
        .ports
        .statuses
        .transition(
            app,
            uow.txn().into(),
            cx.tenant(),
            Move {
                entity: StatusEntity::Opportunity,
                from: &o.status,
                to: &b.status,
                user: Some(cx.user_id()),
            },
        )
        .await
        .map_err(|e| closed_refusal(&o, &set, e))?;
    // The vehicles are read only when a transition asks for them.
    let has_vehicles = rule.required_fields.iter().any(|f| f == "vehicle_ids")
        && !vehicles_of(uow.txn(), cx, o.id).await?.is_empty();
    rule.enforce(&b.status, reason.as_deref(), |f| {
        has_field(&o, has_vehicles, f)
    })?;
    let kind = set.kind(&b.status);
    let now = uow.now();
    let mut am: opportunity::ActiveModel = o.clone().into();
    am.status = Set(b.status.clone());
    am.lost_reason = Set(if kind == StatusKind::Lost {
        reason.clone()
    } else {
        None
    });
    am.closed_at = Set(kind.is_closed().then_some(now));
    am.updated_at = Set(now);
    let updated = am.update(uow.txn()).await?;
    status_history::append(
        uow.txn(),
        cx,
        StatusEntity::Opportunity,
        Some(cx.user_id()),
        now,
        Cause::User,
        vec![StatusMove {
            record_id: o.id,
            from: Some(o.status.clone()),
            to: b.status.clone(),
            entered_from: None,
            reason: reason.clone(),
            note,
        }],
    )
    .await?;
    uow.record(
        Activity::new("opportunity", o.id, "status_changed")
            .changes(json!({"status": {"from": o.status, "to": b.status}, "reason": reason})),
    )
    .await?;
    outcome::follow(&mut uow, &set, &o, (&o.status, &b.status)).await?;
    uow.commit().await?;
    Ok(updated)
}

/// The status history of an opportunity the context reaches (404 otherwise).
pub(crate) async fn status_history(
    app: &App,
    cx: &Cx,
    id: Uuid,
) -> Result<Vec<status_history::StatusChangeView>> {
    let o = load(&app.db, cx, id).await?;
    Ok(
        status_history::of_record(&app.db, cx, StatusEntity::Opportunity, o.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    )
}

/// How many of the tenant's opportunities are in status `key`.
pub async fn count_in_status(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    key: &str,
) -> Result<u64> {
    Ok(opportunity::Entity::scoped(t)
        .filter(opportunity::Column::Status.eq(key))
        .count(conn)
        .await?)
}

/// Moves every opportunity of the tenant in status `from` to `to` (an archived status's
/// records): one update, one history row and one activity entry per record, cause `archive`.
/// A move between open and closed kinds sets or clears `closed_at` as a status change does.
pub async fn reassign_status(
    app: &App,
    txn: &DatabaseTransaction,
    t: &impl Tenanted,
    (from, to): (&str, &str),
    actor: Option<Uuid>,
) -> Result<u64> {
    let set = statuses(app, txn.into(), t).await?;
    let moving: Vec<Uuid> = opportunity::Entity::scoped(t)
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::Status.eq(from))
        .into_tuple()
        .all(txn)
        .await?;
    if moving.is_empty() {
        return Ok(0);
    }
    let now = app.clock.now();
    let (was, will) = (set.kind(from), set.kind(to));
    let mut update = opportunity::Entity::update_in(t)
        .col_expr(opportunity::Column::Status, Expr::value(to))
        .col_expr(opportunity::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            opportunity::Column::Version,
            Expr::col(opportunity::Column::Version).add(1),
        );
    if was.is_closed() != will.is_closed() {
        update = update.col_expr(
            opportunity::Column::ClosedAt,
            Expr::value(will.is_closed().then_some(now)),
        );
    }
    if will != StatusKind::Lost {
        update = update.col_expr(
            opportunity::Column::LostReason,
            Expr::value(Option::<String>::None),
        );
    }
    update
        .filter(opportunity::Column::Status.eq(from))
        .exec(txn)
        .await?;
    status_history::archived_moves(
        txn,
        t,
        (StatusEntity::Opportunity, "opportunity", "status"),
        &moving,
        (from, to),
        actor,
        now,
    )
    .await?;
    Ok(moving.len() as u64)
}

/// A refused move out of a closed status is the closed rule's 409, as for every other change
/// of a closed opportunity; other refusals stay as the statuses port gave them.
fn closed_refusal(o: &opportunity::Model, set: &StatusSet, e: Error) -> Error {
    match e {
        Error::Refused {
            kind: "transition_not_allowed",
            ..
        } if set.kind(&o.status).is_closed() => closed(o),
        other => other,
    }
}

/// Whether `o` has field `f` (a name of [`StatusEntity::requirable_fields`]); `vehicles`
/// tells whether it has vehicles of interest.
fn has_field(o: &opportunity::Model, vehicles: bool, f: &str) -> bool {
    match f {
        "customer_info" => o.customer_info.is_some(),
        "source_id" => o.source_id.is_some(),
        "assigned_user_id" => o.assigned_user_id.is_some(),
        "establishment_id" => o.establishment_id.is_some(),
        "vehicle_ids" => vehicles,
        // A name the statuses module no longer offers: nothing to check.
        _ => true,
    }
}
