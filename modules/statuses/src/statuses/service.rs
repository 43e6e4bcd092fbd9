//! Status rules and writes. Every read starts from `status::Entity::scoped` (or `update_in`,
//! `delete_in`), which pins the tenant, so another tenant's status answers 404; every write is
//! one unit of work that moves the tenant's statuses generation on after its commit (the
//! port's cache).

use super::{
    entities::status,
    validate,
    views::{Kind, LabelsInput, NewStatus, StatusPatch},
};
use crate::machine::generation_key;
use forecourt_core::{
    App, Error, Result, activity,
    error::map_unique,
    ports::statuses::StatusEntity,
    status_history,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use forecourt_core::{Msg, msg};
use poem_openapi::types::MaybeUndefined;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder,
    prelude::Expr, sea_query::ExprTrait,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The languages every status is labelled in.
pub const LANGUAGES: [&str; 3] = ["fr", "nl", "en"];

/// Queues the invalidation of the port's cache for after the commit.
pub fn changed(uow: &mut Uow<'_>) {
    let key = generation_key(uow.tenant());
    uow.after_commit(AfterCommit::Bump(key));
}

/// One status of the tenant, or 404.
pub async fn get(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Uuid,
) -> Result<status::Model> {
    status::Entity::scoped(t)
        .filter(status::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("status"))
}

/// The tenant's statuses of `entity`, in order (archived ones included).
pub async fn of_entity(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    entity: StatusEntity,
) -> Result<Vec<status::Model>> {
    Ok(status::Entity::scoped(t)
        .filter(status::Column::Entity.eq(entity.as_str()))
        .order_by_asc(status::Column::Position)
        .order_by_asc(status::Column::Key)
        .all(conn)
        .await?)
}

/// The entity of a stored status.
pub fn entity_of(m: &status::Model) -> Result<StatusEntity> {
    StatusEntity::parse(&m.entity)
        .ok_or_else(|| Error::internal(format!("status {} has entity {:?}", m.id, m.entity)))
}

/// What an activity entry shows of a status.
pub fn snapshot(m: &status::Model) -> Value {
    json!({
        "entity": m.entity,
        "key": m.key,
        "labels": m.labels,
        "position": m.position,
        "kind": m.kind,
        "exempt_from_expiry": m.exempt_from_expiry,
        "probability": m.probability,
        "colour": m.colour,
        "initial": m.initial,
        "reserves_vehicle": m.reserves_vehicle,
        "archived_at": m.archived_at,
    })
}

/// The labels after a change: each given one replaces its language, and all three must be
/// there.
fn labels(current: Option<&Value>, input: Option<&LabelsInput>) -> Result<Value> {
    let mut out = serde_json::Map::new();
    for lang in LANGUAGES {
        let given = input.and_then(|i| match lang {
            "fr" => i.fr.as_deref(),
            "nl" => i.nl.as_deref(),
            _ => i.en.as_deref(),
        });
        let kept = current.and_then(|c| c[lang].as_str());
        out.insert(
            lang.into(),
            Value::String(validate::label(lang, given.or(kept))?),
        );
    }
    Ok(Value::Object(out))
}

/// The probability of a status of `kind`: won is 100 and lost 0 (another value given is
/// refused); an open one keeps `current` unless one is given (50 for a new one).
fn probability(kind: Kind, given: Option<i64>, current: Option<i32>) -> Result<i32> {
    let fixed = match kind {
        Kind::Won => Some(100),
        Kind::Lost => Some(0),
        Kind::Open => None,
    };
    match (fixed, given) {
        (Some(f), Some(p)) if p != i64::from(f) => Err(Error::invalid(
            "probability",
            msg!(
                "a {kind} status has probability {f}",
                kind = kind.as_str(),
                f
            ),
        )),
        (Some(f), _) => Ok(f),
        (None, Some(p)) => validate::probability(p),
        (None, None) => Ok(current.unwrap_or(50)),
    }
}

/// Refuses a reserving status for an entity that holds no vehicle.
fn check_reserves(entity: StatusEntity, reserves: bool) -> Result<()> {
    if reserves && entity != StatusEntity::Opportunity {
        return Err(Error::invalid(
            "reserves_vehicle",
            msg!("only opportunity statuses reserve a vehicle"),
        ));
    }
    Ok(())
}

/// Makes `id` the only initial status of its entity: the previous one stops being initial
/// (its version moves on).
async fn take_initial(uow: &Uow<'_>, entity: StatusEntity, id: Uuid) -> Result<()> {
    status::Entity::update_in(uow)
        .col_expr(status::Column::Initial, Expr::value(false))
        .col_expr(
            status::Column::Version,
            Expr::col(status::Column::Version).add(1),
        )
        .col_expr(status::Column::UpdatedAt, Expr::value(uow.now()))
        .filter(status::Column::Entity.eq(entity.as_str()))
        .filter(status::Column::Initial.eq(true))
        .filter(status::Column::Id.ne(id))
        .exec(uow.txn())
        .await?;
    Ok(())
}

fn duplicate(e: sea_orm::DbErr) -> Error {
    map_unique(
        e,
        "duplicate_key",
        msg!("a status of this entity already has this key"),
        "key",
    )
}

/// Creates a status of `entity`, last in its list.
pub async fn create(
    app: &App,
    cx: &Cx,
    entity: StatusEntity,
    b: &NewStatus,
) -> Result<status::Model> {
    let key = validate::key(&b.key)?;
    let labels = labels(None, Some(&b.labels))?;
    let probability = probability(b.kind, b.probability, None)?;
    let colour = b.colour.as_deref().map(validate::colour).transpose()?;
    let reserves = b.reserves_vehicle.unwrap_or(false);
    check_reserves(entity, reserves)?;
    let initial = b.initial.unwrap_or(false);
    if initial && b.kind != Kind::Open {
        return Err(Error::invalid(
            "initial",
            msg!("the initial status is an open one"),
        ));
    }
    let mut uow = Uow::begin(app, cx).await?;
    let all = of_entity(uow.txn(), &uow, entity).await?;
    let position = all.iter().map(|s| s.position + 1).max().unwrap_or(0);
    let id = Uuid::now_v7();
    if initial {
        take_initial(&uow, entity, id).await?;
    }
    let m = status::ActiveModel {
        tenant_id: Set(uow.tenant().uuid()),
        id: Set(id),
        entity: Set(entity.as_str().into()),
        key: Set(key),
        labels: Set(labels),
        position: Set(position),
        kind: Set(b.kind.as_str().into()),
        exempt_from_expiry: Set(b.exempt_from_expiry.unwrap_or(false)),
        probability: Set(probability),
        colour: Set(colour),
        initial: Set(initial),
        reserves_vehicle: Set(reserves),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(uow.now()),
        updated_at: Set(uow.now()),
    }
    .insert(uow.txn())
    .await
    .map_err(duplicate)?;
    uow.record(Activity::new("status", m.id, "created").changes(snapshot(&m)))
        .await?;
    changed(&mut uow);
    uow.commit().await?;
    Ok(m)
}

/// Claims a status for this unit of work (its version moves on): 412 when `if_match` names
/// another version than the current one, or when another writer got there first.
async fn claim(uow: &Uow<'_>, current: &status::Model, if_match: Option<&str>) -> Result<()> {
    if let Some(m) = if_match
        && !forecourt_core::http::if_match(m, current.version)
    {
        return Err(Error::PreconditionFailed);
    }
    if uow
        .claim::<status::Entity>(current.id, current.version)
        .await?
    {
        Ok(())
    } else if if_match.is_some() {
        Err(Error::PreconditionFailed)
    } else {
        Err(Error::conflict(
            "write_conflict",
            msg!("the status is being changed by someone else; retry"),
        ))
    }
}

/// Changes a status; `if_match` is the ETag the caller read (412 when it changed since).
pub async fn patch(
    app: &App,
    cx: &Cx,
    id: Uuid,
    if_match: Option<&str>,
    b: &StatusPatch,
) -> Result<status::Model> {
    let mut uow = Uow::begin(app, cx).await?;
    let cur = get(uow.txn(), &uow, id).await?;
    let entity = entity_of(&cur)?;
    claim(&uow, &cur, if_match).await?;
    let kind = b.kind.unwrap_or(Kind::parse(&cur.kind));
    let initial = match b.initial {
        Some(false) if cur.initial => {
            return Err(Error::invalid(
                "initial",
                msg!("an entity has exactly one initial status: make another one initial instead"),
            ));
        }
        Some(i) => i,
        None => cur.initial,
    };
    if initial && kind != Kind::Open {
        let field = if b.kind.is_some() { "kind" } else { "initial" };
        return Err(Error::invalid(
            field,
            msg!("the initial status is an open one"),
        ));
    }
    if initial && !cur.initial && cur.archived_at.is_some() {
        return Err(Error::invalid(
            "initial",
            msg!("an archived status cannot be the initial one"),
        ));
    }
    // Records in the status would be closed without `closed_at` (or open with one): a kind
    // that opens or closes is changed only while no record is in it.
    let was = Kind::parse(&cur.kind);
    if (was == Kind::Open) != (kind == Kind::Open) {
        let count = in_use(&uow, entity, &cur.key).await?;
        if count > 0 {
            return Err(Error::InUse {
                kind: "status_in_use",
                detail: msg!(
                    "{count} records are in this status: its kind cannot change between open \
                     and closed while they are; archive it with `reassign_to` and create another",
                    count
                ),
                used_by: BTreeMap::from([(records_of(entity).to_string(), count)]),
            });
        }
    }
    let reserves = b.reserves_vehicle.unwrap_or(cur.reserves_vehicle);
    if b.reserves_vehicle.is_some() {
        check_reserves(entity, reserves)?;
    }
    let mut am: status::ActiveModel = cur.clone().into();
    if b.labels.is_some() {
        am.labels = Set(labels(Some(&cur.labels), b.labels.as_ref())?);
    }
    am.kind = Set(kind.as_str().into());
    am.probability = Set(probability(kind, b.probability, Some(cur.probability))?);
    match &b.colour {
        MaybeUndefined::Value(c) => am.colour = Set(Some(validate::colour(c)?)),
        MaybeUndefined::Null => am.colour = Set(None),
        MaybeUndefined::Undefined => {}
    }
    if let Some(e) = b.exempt_from_expiry {
        am.exempt_from_expiry = Set(e);
    }
    am.initial = Set(initial);
    am.reserves_vehicle = Set(reserves);
    am.version = Set(cur.version + 1);
    am.updated_at = Set(uow.now());
    if initial && !cur.initial {
        take_initial(&uow, entity, cur.id).await?;
    }
    let m = am.update(uow.txn()).await?;
    uow.record(
        Activity::new("status", m.id, "updated")
            .changes(activity::diff(&snapshot(&cur), &snapshot(&m))),
    )
    .await?;
    changed(&mut uow);
    uow.commit().await?;
    Ok(m)
}

/// Puts the statuses of `entity` in the order of `ids` (every status of the entity, once).
pub async fn order(
    app: &App,
    cx: &Cx,
    entity: StatusEntity,
    ids: &[Uuid],
) -> Result<Vec<status::Model>> {
    let mut uow = Uow::begin(app, cx).await?;
    let all = of_entity(uow.txn(), &uow, entity).await?;
    let mut seen = std::collections::HashSet::new();
    let complete = ids.len() == all.len()
        && ids
            .iter()
            .all(|id| seen.insert(*id) && all.iter().any(|s| s.id == *id));
    if !complete {
        return Err(Error::invalid(
            "ids",
            msg!(
                "list every status of the entity once ({count} ids, archived ones included)",
                count = all.len()
            ),
        ));
    }
    for (position, id) in ids.iter().enumerate() {
        let position = position as i32;
        let Some(s) = all.iter().find(|s| s.id == *id) else {
            continue;
        };
        if s.position == position {
            continue;
        }
        status::Entity::update_in(&uow)
            .col_expr(status::Column::Position, Expr::value(position))
            .col_expr(
                status::Column::Version,
                Expr::col(status::Column::Version).add(1),
            )
            .col_expr(status::Column::UpdatedAt, Expr::value(uow.now()))
            .filter(status::Column::Id.eq(s.id))
            .exec(uow.txn())
            .await?;
        uow.record(
            Activity::new("status", s.id, "moved")
                .changes(json!({"position": {"from": s.position, "to": position}})),
        )
        .await?;
    }
    let out = of_entity(uow.txn(), &uow, entity).await?;
    changed(&mut uow);
    uow.commit().await?;
    Ok(out)
}

/// How many records of `entity` are in status `key` now, over every module that stores them.
async fn in_use(uow: &Uow<'_>, entity: StatusEntity, key: &str) -> Result<u64> {
    let app = uow.app();
    let mut count = 0;
    for holders in &app.ports.status_holders {
        count += holders
            .count_in(app, uow.txn().into(), uow.tenant(), entity, key)
            .await?;
    }
    Ok(count)
}

/// The name of `entity`'s records in `used_by`.
fn records_of(entity: StatusEntity) -> &'static str {
    match entity {
        StatusEntity::Opportunity => "opportunities",
        StatusEntity::Prospect => "prospects",
    }
}

fn initial_refused(detail: Msg) -> Error {
    Error::conflict("status_initial", detail)
}

/// Archives a status: no record moves into it any more. Records in it move to the status
/// `reassign_to` (a key) in the same transaction, each move in their history; without it a
/// status in use is refused (409 `status_in_use` with `count`). The initial status is
/// refused (409 `status_initial`). Answers the status and how many records moved.
pub async fn archive(
    app: &App,
    cx: &Cx,
    id: Uuid,
    reassign_to: Option<&str>,
) -> Result<(status::Model, u64)> {
    let mut uow = Uow::begin(app, cx).await?;
    let cur = get(uow.txn(), &uow, id).await?;
    let entity = entity_of(&cur)?;
    if cur.archived_at.is_some() {
        return Err(Error::conflict(
            "status_archived",
            msg!("this status is already archived"),
        ));
    }
    if cur.initial {
        return Err(initial_refused(msg!(
            "the initial status cannot be archived: make another status initial first"
        )));
    }
    let target = match reassign_to {
        Some(key) => Some(
            of_entity(uow.txn(), &uow, entity)
                .await?
                .into_iter()
                .find(|s| s.key == key && s.archived_at.is_none() && s.id != cur.id)
                .ok_or_else(|| {
                    Error::invalid(
                        "reassign_to",
                        msg!("not the key of another status of this entity that is not archived"),
                    )
                })?,
        ),
        None => None,
    };
    let count = in_use(&uow, entity, &cur.key).await?;
    let mut moved = 0;
    match &target {
        None if count > 0 => {
            return Err(Error::InUse {
                kind: "status_in_use",
                detail: msg!(
                    "{count} records are in this status: give `reassign_to`, the status they \
                     move to",
                    count
                ),
                used_by: BTreeMap::from([(records_of(entity).to_string(), count)]),
            });
        }
        None => {}
        // Before the status is marked archived: the holders may ask the statuses port inside
        // this transaction, which must then read what is committed.
        Some(t) => {
            for holders in &app.ports.status_holders {
                moved += holders
                    .reassign(
                        app,
                        uow.txn(),
                        uow.tenant(),
                        entity,
                        &cur.key,
                        &t.key,
                        uow.user_id(),
                    )
                    .await?;
            }
        }
    }
    claim(&uow, &cur, None).await?;
    let mut am: status::ActiveModel = cur.clone().into();
    am.archived_at = Set(Some(uow.now()));
    am.version = Set(cur.version + 1);
    am.updated_at = Set(uow.now());
    let m = am.update(uow.txn()).await?;
    uow.record(Activity::new("status", m.id, "archived").changes(json!({
        "reassign_to": target.as_ref().map(|t| t.key.as_str()),
        "reassigned": moved,
    })))
    .await?;
    changed(&mut uow);
    uow.commit().await?;
    Ok((m, moved))
}

/// Deletes a status no record ever had: none is in it now and the status history never
/// names it (else 409 `status_has_history`: archive it instead). Its transitions go with it.
pub async fn delete(app: &App, cx: &Cx, id: Uuid) -> Result<()> {
    let mut uow = Uow::begin(app, cx).await?;
    let cur = get(uow.txn(), &uow, id).await?;
    let entity = entity_of(&cur)?;
    if cur.initial {
        return Err(initial_refused(msg!(
            "the initial status cannot be deleted: make another status initial first"
        )));
    }
    if in_use(&uow, entity, &cur.key).await? > 0
        || status_history::ever_used(uow.txn(), &uow, entity, &cur.key).await?
    {
        return Err(Error::conflict(
            "status_has_history",
            msg!(
                "records have had this status: archive it instead (with `reassign_to` to move \
             those in it)"
            ),
        ));
    }
    status::Entity::delete_in(&uow)
        .filter(status::Column::Id.eq(cur.id))
        .exec(uow.txn())
        .await?;
    uow.record(Activity::new("status", cur.id, "deleted").changes(snapshot(&cur)))
        .await?;
    changed(&mut uow);
    uow.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_is_100_lost_is_0_and_open_keeps_its_probability() {
        assert_eq!(probability(Kind::Won, None, Some(40)).unwrap(), 100);
        assert_eq!(probability(Kind::Lost, Some(0), Some(40)).unwrap(), 0);
        assert!(probability(Kind::Won, Some(90), None).is_err());
        assert_eq!(probability(Kind::Open, None, Some(40)).unwrap(), 40);
        assert_eq!(probability(Kind::Open, None, None).unwrap(), 50);
        assert_eq!(probability(Kind::Open, Some(70), Some(40)).unwrap(), 70);
        assert!(probability(Kind::Open, Some(170), None).is_err());
    }

    #[test]
    fn labels_merge_and_need_all_three() {
        let cur = json!({"fr": "Perdu", "nl": "Verloren", "en": "Lost"});
        let patch = LabelsInput {
            en: Some(" Lost deal ".into()),
            ..Default::default()
        };
        assert_eq!(
            labels(Some(&cur), Some(&patch)).unwrap(),
            json!({"fr": "Perdu", "nl": "Verloren", "en": "Lost deal"})
        );
        let e = labels(None, Some(&patch)).unwrap_err();
        assert_eq!(e.problem().field.as_deref(), Some("labels.fr"));
    }
}
