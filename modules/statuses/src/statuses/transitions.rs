//! The transitions between statuses and the policy that enforces them. The transitions out
//! of one status are set with the status (`/statuses/{id}/transitions`); those from any open
//! status with the entity's policy (`from_any`). Targets are named by key (stable, readable);
//! answers carry the key and the id.

use super::{
    entities::{policy, status, transition},
    service::{changed, entity_of, get, of_entity},
    validate,
    views::{PolicyInput, PolicyMode, PolicyView, TransitionInput, TransitionView},
};
use crate::machine::Mode;
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result, activity,
    ports::statuses::StatusEntity,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, Uow},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// The listed transitions of `entity` leaving `from` (`None`: from any open status), as
/// shown: each with its target's key.
async fn listed(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    entity: StatusEntity,
    from: Option<Uuid>,
    statuses: &[status::Model],
) -> Result<Vec<TransitionView>> {
    let q = transition::Entity::scoped(t).filter(transition::Column::Entity.eq(entity.as_str()));
    let q = match from {
        Some(f) => q.filter(transition::Column::FromStatusId.eq(f)),
        None => q.filter(transition::Column::FromStatusId.is_null()),
    };
    let rows = q.order_by_asc(transition::Column::Id).all(conn).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let key = statuses
                .iter()
                .find(|s| s.id == r.to_status_id)
                .map(|s| s.key.clone())
                .unwrap_or_default();
            TransitionView::of(r, key)
        })
        .collect())
}

/// Checks `input` (fields named under `prefix`: `[0].to`, `from_any[0].to`) and builds its
/// rows: targets are statuses of the entity that are not archived (nor `from` itself), each
/// listed once; roles are roles of the tenant.
async fn rows(
    uow: &Uow<'_>,
    entity: StatusEntity,
    from: Option<Uuid>,
    input: &[TransitionInput],
    statuses: &[status::Model],
    prefix: &str,
) -> Result<Vec<transition::ActiveModel>> {
    let mut roles_known: Option<Vec<String>> = None;
    let mut out = Vec::with_capacity(input.len());
    let mut targets = Vec::new();
    for (i, t) in input.iter().enumerate() {
        let at = format!("{prefix}[{i}]");
        let to = statuses
            .iter()
            .find(|s| s.key == t.to && s.archived_at.is_none())
            .ok_or_else(|| {
                Error::invalid(
                    format!("{at}.to"),
                    msg!("not the key of a status of this entity that is not archived"),
                )
            })?;
        if Some(to.id) == from {
            return Err(Error::invalid(
                format!("{at}.to"),
                msg!("a status does not lead to itself"),
            ));
        }
        if targets.contains(&to.id) {
            return Err(Error::invalid(format!("{at}.to"), msg!("listed twice")));
        }
        targets.push(to.id);
        let mut fields = Vec::new();
        for (j, f) in t.required_fields.iter().flatten().enumerate() {
            let f = validate::field_name(entity, &format!("{at}.required_fields[{j}]"), f)?;
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        let roles = match &t.roles {
            None => None,
            Some(r) if r.is_empty() => {
                return Err(Error::invalid(
                    format!("{at}.roles"),
                    msg!("list at least one role, or leave `roles` out for anyone"),
                ));
            }
            Some(r) => {
                if roles_known.is_none() {
                    roles_known = Some(
                        forecourt_core::authz::role_names(uow.txn(), uow.tenant().uuid()).await?,
                    );
                }
                let known = roles_known.as_deref().unwrap_or_default();
                let mut roles = Vec::new();
                for (j, role) in r.iter().enumerate() {
                    if !known.contains(role) {
                        return Err(Error::invalid(
                            format!("{at}.roles[{j}]"),
                            msg!("not a role of this tenant"),
                        ));
                    }
                    if !roles.contains(role) {
                        roles.push(role.clone());
                    }
                }
                Some(json!(roles))
            }
        };
        out.push(transition::ActiveModel {
            tenant_id: Set(uow.tenant().uuid()),
            id: Set(Uuid::now_v7()),
            entity: Set(entity.as_str().into()),
            from_status_id: Set(from),
            to_status_id: Set(to.id),
            requires_reason: Set(t.requires_reason.unwrap_or(false)),
            required_fields: Set(json!(fields)),
            roles: Set(roles),
            created_at: Set(uow.now()),
        });
    }
    Ok(out)
}

/// Replaces the listed transitions of `entity` leaving `from` with `input`.
async fn replace(
    uow: &Uow<'_>,
    entity: StatusEntity,
    from: Option<Uuid>,
    input: &[TransitionInput],
    statuses: &[status::Model],
    prefix: &str,
) -> Result<Vec<TransitionView>> {
    let new = rows(uow, entity, from, input, statuses, prefix).await?;
    let del =
        transition::Entity::delete_in(uow).filter(transition::Column::Entity.eq(entity.as_str()));
    let del = match from {
        Some(f) => del.filter(transition::Column::FromStatusId.eq(f)),
        None => del.filter(transition::Column::FromStatusId.is_null()),
    };
    del.exec(uow.txn()).await?;
    if !new.is_empty() {
        transition::Entity::insert_many(new)
            .exec_without_returning(uow.txn())
            .await?;
    }
    listed(uow.txn(), uow, entity, from, statuses).await
}

/// The transitions listed out of the status `id`.
pub async fn of_status(app: &App, cx: &Cx, id: Uuid) -> Result<Vec<TransitionView>> {
    let s = get(&app.db, cx, id).await?;
    let entity = entity_of(&s)?;
    let statuses = of_entity(&app.db, cx, entity).await?;
    listed(&app.db, cx, entity, Some(s.id), &statuses).await
}

/// Replaces the transitions listed out of the status `id`.
pub async fn set_for_status(
    app: &App,
    cx: &Cx,
    id: Uuid,
    input: &[TransitionInput],
) -> Result<Vec<TransitionView>> {
    let mut uow = Uow::begin(app, cx).await?;
    let s = get(uow.txn(), &uow, id).await?;
    let entity = entity_of(&s)?;
    let statuses = of_entity(uow.txn(), &uow, entity).await?;
    let before = listed(uow.txn(), &uow, entity, Some(s.id), &statuses).await?;
    let after = replace(&uow, entity, Some(s.id), input, &statuses, "").await?;
    uow.record(
        Activity::new("status", s.id, "transitions_set")
            .changes(activity::diff(&shown(&before), &shown(&after))),
    )
    .await?;
    changed(&mut uow);
    uow.commit().await?;
    Ok(after)
}

/// What the activity log keeps of a list of transitions.
fn shown(list: &[TransitionView]) -> Value {
    json!({"transitions": list.iter().map(|t| json!({
        "to": t.to,
        "requires_reason": t.requires_reason,
        "required_fields": t.required_fields,
        "roles": t.roles,
    })).collect::<Vec<_>>()})
}

async fn policy_row(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    entity: StatusEntity,
) -> Result<Option<policy::Model>> {
    Ok(policy::Entity::scoped(t)
        .filter(policy::Column::Entity.eq(entity.as_str()))
        .one(conn)
        .await?)
}

fn mode_of(row: Option<&policy::Model>) -> PolicyMode {
    match row.map_or(Mode::Free, |p| Mode::parse(&p.mode)) {
        Mode::Free => PolicyMode::Free,
        Mode::Listed => PolicyMode::Listed,
    }
}

/// The policy of `entity` (`free`, version 0, when never set).
pub async fn policy(app: &App, cx: &Cx, entity: StatusEntity) -> Result<PolicyView> {
    let row = policy_row(&app.db, cx, entity).await?;
    let statuses = of_entity(&app.db, cx, entity).await?;
    Ok(PolicyView {
        entity: entity.as_str().into(),
        mode: mode_of(row.as_ref()),
        from_any: listed(&app.db, cx, entity, None, &statuses).await?,
        version: row.map_or(0, |r| r.version),
    })
}

/// Sets the policy of `entity` and, when given, the transitions from any open status.
pub async fn set_policy(
    app: &App,
    cx: &Cx,
    entity: StatusEntity,
    if_match: Option<&str>,
    b: &PolicyInput,
) -> Result<PolicyView> {
    let mut uow = Uow::begin(app, cx).await?;
    let row = policy_row(uow.txn(), &uow, entity).await?;
    if let Some(m) = if_match
        && !forecourt_core::http::if_match(m, row.as_ref().map_or(0, |r| r.version))
    {
        return Err(Error::PreconditionFailed);
    }
    let mode = match b.mode {
        PolicyMode::Free => Mode::Free,
        PolicyMode::Listed => Mode::Listed,
    };
    let before_mode = mode_of(row.as_ref());
    let saved = match row {
        Some(r) => {
            if !uow.claim::<policy::Entity>(r.id, r.version).await? {
                return Err(Error::PreconditionFailed);
            }
            let mut am: policy::ActiveModel = r.clone().into();
            am.mode = Set(mode.as_str().into());
            am.version = Set(r.version + 1);
            am.updated_at = Set(uow.now());
            am.update(uow.txn()).await?
        }
        None => {
            policy::ActiveModel {
                tenant_id: Set(uow.tenant().uuid()),
                id: Set(Uuid::now_v7()),
                entity: Set(entity.as_str().into()),
                mode: Set(mode.as_str().into()),
                version: Set(1),
                updated_at: Set(uow.now()),
            }
            .insert(uow.txn())
            .await?
        }
    };
    let statuses = of_entity(uow.txn(), &uow, entity).await?;
    let before = listed(uow.txn(), &uow, entity, None, &statuses).await?;
    let from_any = match &b.from_any {
        Some(input) => replace(&uow, entity, None, input, &statuses, "from_any").await?,
        None => before.clone(),
    };
    let mut changes = activity::diff(&shown(&before), &shown(&from_any));
    if before_mode != b.mode {
        changes["mode"] = json!({"from": word(before_mode), "to": word(b.mode)});
    }
    uow.record(Activity::new("status_policy", saved.id, "updated").changes(changes))
        .await?;
    changed(&mut uow);
    uow.commit().await?;
    Ok(PolicyView {
        entity: entity.as_str().into(),
        mode: b.mode,
        from_any,
        version: saved.version,
    })
}

fn word(m: PolicyMode) -> &'static str {
    match m {
        PolicyMode::Free => "free",
        PolicyMode::Listed => "listed",
    }
}
