//! Prospect statuses: a contact whose lifecycle is `prospect` is in one of the tenant's
//! prospect statuses (the `statuses` module's, else the fixed set), moves under the same rules
//! as an opportunity, and becomes a customer when it moves to a won status. `convert` is that
//! move to the first won status: one path, one history.

use crate::contacts::{
    entities::contact,
    read::Full,
    store::{ContactData, stamp},
    terms::generation_key,
    visibility::{Conn, load_visible, scoped},
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    events::Event,
    ports::statuses::{Move, StatusEntity, StatusKind, StatusSet},
    status_history::{self, Cause, StatusChange, StatusChangeView, StatusMove},
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseExecutor, DatabaseTransaction, PaginatorTrait,
    QueryFilter, QuerySelect, prelude::Expr, sea_query::ExprTrait,
};
use serde_json::json;
use uuid::Uuid;

/// The tenant's prospect statuses.
pub async fn prospect_statuses(
    app: &App,
    db: DatabaseExecutor<'_>,
    t: &impl Tenanted,
) -> Result<StatusSet> {
    app.ports
        .statuses
        .of(app, db, t.tenant(), StatusEntity::Prospect)
        .await
}

/// The status a new prospect starts in.
pub async fn initial_status(app: &App, conn: &impl Conn, t: &impl Tenanted) -> Result<String> {
    let set = prospect_statuses(app, conn.executor(), t).await?;
    Ok(set.initial().unwrap_or("new").to_string())
}

/// Moves a prospect the caller may write to `m.status`, as the tenant's statuses allow; a won
/// status converts it to a customer (`ContactConverted`, in the same transaction). The
/// contact's version is claimed: a concurrent writer makes it 412.
pub async fn move_status(app: &App, cx: &Cx, id: Uuid, m: StatusChange) -> Result<Full> {
    let reason = status_history::clean(m.reason);
    let note = status_history::clean(m.note);
    let mut uow = Uow::begin(app, cx).await?;
    let mut full = load_visible(app, uow.txn(), cx, id).await?;
    if full.contact.lifecycle != "prospect" {
        return Err(Error::conflict(
            "already_customer",
            msg!("this contact is already a customer: only prospects have a prospect status"),
        ));
    }
    let set = prospect_statuses(app, uow.txn().into(), cx).await?;
    let from = full
        .contact
        .prospect_status
        .clone()
        .or_else(|| set.initial().map(str::to_string))
        .unwrap_or_default();
    let rule = app
        .ports
        .statuses
        .transition(
            app,
            uow.txn().into(),
            cx.tenant(),
            Move {
                entity: StatusEntity::Prospect,
                from: &from,
                to: &m.status,
                user: Some(cx.user_id()),
            },
        )
        .await?;
    rule.enforce(&m.status, reason.as_deref(), |f| is_set(&full, f))?;
    let converts = set.kind(&m.status) == StatusKind::Won;
    let now = stamp(uow.now());
    let claimed = forecourt_core::uow::claim::<contact::Entity>(
        uow.txn(),
        &uow,
        id,
        full.contact.version,
        |u| {
            let u = u
                .col_expr(contact::Column::ProspectStatus, Expr::value(&m.status))
                .col_expr(contact::Column::UpdatedAt, Expr::value(now));
            if converts {
                u.col_expr(contact::Column::Lifecycle, Expr::value("customer"))
            } else {
                u
            }
        },
    )
    .await?;
    if !claimed {
        return Err(Error::PreconditionFailed);
    }
    status_history::append(
        uow.txn(),
        cx,
        StatusEntity::Prospect,
        Some(cx.user_id()),
        now,
        Cause::User,
        vec![StatusMove {
            record_id: id,
            from: Some(from.clone()),
            to: m.status.clone(),
            entered_from: None,
            reason: reason.clone(),
            note,
        }],
    )
    .await?;
    uow.record(
        Activity::new("contact", id, "status_changed")
            .changes(json!({"prospect_status": {"from": from, "to": m.status}, "reason": reason})),
    )
    .await?;
    if converts {
        uow.record(
            Activity::new("contact", id, "converted")
                .changes(json!({"lifecycle": {"from": "prospect", "to": "customer"}})),
        )
        .await?;
        uow.emit(&Event::ContactConverted {
            tenant_id: cx.tenant().uuid(),
            contact_id: id,
            status: m.status.clone(),
        })
        .await?;
        full.contact.lifecycle = "customer".into();
    }
    uow.after_commit(AfterCommit::Bump(generation_key(&uow)));
    uow.commit().await?;
    full.contact.prospect_status = Some(m.status);
    full.contact.version += 1;
    full.contact.updated_at = now;
    Ok(full)
}

/// Makes a prospect a customer: its move to the first won prospect status of the tenant,
/// under the same rules. 409 `already_customer` when it is one.
pub async fn convert(app: &App, cx: &Cx, id: Uuid) -> Result<Full> {
    let set = prospect_statuses(app, (&app.db).into(), cx).await?;
    let Some(won) = set
        .0
        .iter()
        .find(|s| s.kind == StatusKind::Won && !s.archived)
    else {
        return Err(Error::conflict(
            "no_won_status",
            msg!(
                "the tenant has no won prospect status to convert to: add one in the statuses settings"
            ),
        ));
    };
    move_status(
        app,
        cx,
        id,
        StatusChange {
            status: won.key.clone(),
            reason: None,
            note: None,
        },
    )
    .await
}

/// Starts the status history of a new prospect (`d`), in the transaction that creates it.
pub async fn started(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
    d: &ContactData,
    (actor, at, cause): (Option<Uuid>, chrono::DateTime<chrono::Utc>, Cause),
) -> Result<()> {
    let Some(status) = d
        .prospect_status
        .clone()
        .filter(|_| d.lifecycle == "prospect")
    else {
        return Ok(());
    };
    status_history::append(
        conn,
        t,
        StatusEntity::Prospect,
        actor,
        at,
        cause,
        vec![StatusMove {
            record_id: id,
            from: None,
            to: status,
            entered_from: None,
            reason: None,
            note: None,
        }],
    )
    .await
}

/// Makes the prospects among `ids` customers, as a consequence recorded with `why` (an
/// opportunity won): each moves to the first won prospect status, with a history row, an
/// activity entry and a `ContactConverted` event in `uow`; customers are left alone.
pub async fn convert_all(uow: &mut Uow<'_>, ids: &[Uuid], why: &str) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let app = uow.app();
    let found: Vec<(Uuid, Option<String>)> = scoped(&*uow)
        .select_only()
        .column(contact::Column::Id)
        .column(contact::Column::ProspectStatus)
        .filter(contact::Column::Id.is_in(ids.iter().copied()))
        .filter(contact::Column::Lifecycle.eq("prospect"))
        .into_tuple()
        .all(uow.txn())
        .await?;
    if found.is_empty() {
        return Ok(());
    }
    let set = prospect_statuses(app, uow.txn().into(), &*uow).await?;
    let won = set
        .0
        .iter()
        .find(|s| s.kind == StatusKind::Won && !s.archived)
        .map(|s| s.key.clone());
    let now = stamp(uow.now());
    let mut update = contact::Entity::update_in(&*uow)
        .col_expr(contact::Column::Lifecycle, Expr::value("customer"))
        .col_expr(contact::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            contact::Column::Version,
            Expr::col(contact::Column::Version).add(1),
        );
    if let Some(w) = &won {
        update = update.col_expr(contact::Column::ProspectStatus, Expr::value(w.clone()));
    }
    update
        .filter(contact::Column::Id.is_in(found.iter().map(|(id, _)| *id)))
        .filter(contact::Column::Lifecycle.eq("prospect"))
        .exec(uow.txn())
        .await?;
    if let Some(w) = &won {
        status_history::append(
            uow.txn(),
            &*uow,
            StatusEntity::Prospect,
            uow.user_id(),
            now,
            Cause::User,
            found
                .iter()
                .map(|(id, from)| StatusMove {
                    record_id: *id,
                    from: from.clone(),
                    to: w.clone(),
                    entered_from: None,
                    reason: Some(why.to_string()),
                    note: None,
                })
                .collect(),
        )
        .await?;
    }
    for (id, _) in &found {
        uow.record(
            Activity::new("contact", *id, "converted").changes(
                json!({"lifecycle": {"from": "prospect", "to": "customer"}, "reason": why}),
            ),
        )
        .await?;
        uow.emit(&Event::ContactConverted {
            tenant_id: uow.tenant().uuid(),
            contact_id: *id,
            status: won.clone().unwrap_or_default(),
        })
        .await?;
    }
    uow.after_commit(AfterCommit::Bump(generation_key(&*uow)));
    Ok(())
}

/// The status history of a contact the caller may see, oldest first.
pub async fn history(app: &App, cx: &Cx, id: Uuid) -> Result<Vec<StatusChangeView>> {
    let full = load_visible(app, &app.db, cx, id).await?;
    Ok(
        status_history::of_record(&app.db, cx, StatusEntity::Prospect, full.contact.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    )
}

/// Whether the prospect has field `f` (a name of [`StatusEntity::requirable_fields`]).
fn is_set(f: &Full, field: &str) -> bool {
    let c = &f.contact;
    match field {
        "first_name" => c.first_name.is_some(),
        "last_name" => c.last_name.is_some(),
        "company_name" => c.company_name.is_some(),
        "emails" => !f.emails.is_empty(),
        "phones" => !f.phones.is_empty(),
        "addresses" => !f.addresses.is_empty(),
        "language" => c.language.is_some(),
        "birth_date" => c.birth_date.is_some(),
        "national_number" => c.national_number.is_some(),
        "vat_number" => c.vat_number.is_some(),
        "assigned_user_id" => c.assigned_user_id.is_some(),
        "establishment_id" => c.establishment_id.is_some(),
        // A name the statuses module no longer offers: nothing to check.
        _ => true,
    }
}

/// How many of the tenant's prospects are in status `key`.
pub async fn count_in_status(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    key: &str,
) -> Result<u64> {
    Ok(scoped(t)
        .filter(contact::Column::Lifecycle.eq("prospect"))
        .filter(contact::Column::ProspectStatus.eq(key))
        .count(conn)
        .await?)
}

/// Moves every prospect of the tenant in status `from` to `to` (an archived status's
/// records), each move in the history (cause `archive`) and the activity log. A prospect
/// moved to a won status becomes a customer, as any move there makes it.
pub async fn reassign_status(
    app: &App,
    txn: &DatabaseTransaction,
    t: &impl Tenanted,
    (from, to): (&str, &str),
    actor: Option<Uuid>,
) -> Result<u64> {
    let moving: Vec<Uuid> = scoped(t)
        .select_only()
        .column(contact::Column::Id)
        .filter(contact::Column::Lifecycle.eq("prospect"))
        .filter(contact::Column::ProspectStatus.eq(from))
        .into_tuple()
        .all(txn)
        .await?;
    if moving.is_empty() {
        return Ok(0);
    }
    let set = prospect_statuses(app, txn.into(), t).await?;
    let converts = set.kind(to) == StatusKind::Won;
    let now = stamp(app.clock.now());
    let mut update = contact::Entity::update_in(t)
        .col_expr(contact::Column::ProspectStatus, Expr::value(to))
        .col_expr(contact::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            contact::Column::Version,
            Expr::col(contact::Column::Version).add(1),
        );
    if converts {
        update = update.col_expr(contact::Column::Lifecycle, Expr::value("customer"));
    }
    update
        .filter(contact::Column::Lifecycle.eq("prospect"))
        .filter(contact::Column::ProspectStatus.eq(from))
        .exec(txn)
        .await?;
    status_history::archived_moves(
        txn,
        t,
        (StatusEntity::Prospect, "contact", "prospect_status"),
        &moving,
        (from, to),
        actor,
        now,
    )
    .await?;
    // Cached searches show the status and lifecycle.
    crate::contacts::terms::searches_changed(app, t).await;
    Ok(moving.len() as u64)
}
