//! The rules of teams: who reaches which, the checks of a team's establishment, leader and
//! members, and the units of work that write them. A change to the members is announced as a
//! change of the tenant's principals, because each member's principal carries their teams.

use crate::{
    directory::principals_changed,
    entities::{establishment, user},
    fields::required,
    teams::{
        entities::{team, team_member},
        views::{NewTeam, TeamPatch},
    },
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::Scope,
    activity,
    context::TenantUser,
    error::map_unique,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use poem_openapi::types::MaybeUndefined;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// The most members a team takes.
const MAX_MEMBERS: usize = 500;

/// The teams `user` reaches at `scope`: all of the tenant's; those of the user's
/// establishment and their own; or only the teams the user belongs to.
pub(crate) fn reach(user: &TenantUser, scope: Scope) -> Condition {
    let mine = team::Column::Id.is_in(user.team_ids.clone());
    match (scope, user.establishment_id) {
        (Scope::Tenant, _) => Condition::all(),
        (Scope::Establishment, Some(e)) => Condition::any()
            .add(team::Column::EstablishmentId.eq(e))
            .add(mine),
        (Scope::Establishment, None) | (Scope::Own, _) => Condition::all().add(mine),
    }
}

/// The teams the grant of `cx` reaches (see [`reach`]).
pub(crate) fn within(cx: &Cx) -> Select<team::Entity> {
    team::Entity::scoped(cx).filter(reach(cx.user(), cx.scope()))
}

/// Whether a team with this establishment and these members stays within the reach of the
/// write grant of `cx`: below tenant scope a manager keeps it in their establishment, and an
/// own-scope writer among its members.
fn stays_within(cx: &Cx, establishment: Option<Uuid>, members: &[Uuid]) -> bool {
    match cx.scope() {
        Scope::Tenant => true,
        Scope::Establishment => establishment.is_some() && establishment == cx.establishment_id(),
        Scope::Own => members.contains(&cx.user_id()),
    }
}

/// A team within the reach of `cx`, else 404 (another tenant's answers the same).
pub(crate) async fn reachable(
    conn: &impl ConnectionTrait,
    cx: &Cx,
    id: Uuid,
) -> Result<team::Model> {
    within(cx)
        .filter(team::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("team"))
}

/// The members of each of `teams`, in their order.
pub(crate) async fn members_of(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    teams: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>> {
    let mut out: HashMap<Uuid, Vec<Uuid>> = teams.iter().map(|t| (*t, vec![])).collect();
    if teams.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, Uuid)> = team_member::Entity::scoped(t)
        .filter(team_member::Column::TeamId.is_in(teams.to_vec()))
        .order_by_asc(team_member::Column::TeamId)
        .order_by_asc(team_member::Column::Position)
        .select_only()
        .columns([team_member::Column::TeamId, team_member::Column::UserId])
        .into_tuple()
        .all(conn)
        .await?;
    for (team, user) in rows {
        out.entry(team).or_default().push(user);
    }
    Ok(out)
}

/// The page after `after` of the teams within reach of `cx`, with their members.
pub(crate) async fn page(
    app: &App,
    cx: &Cx,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(team::Model, Vec<Uuid>)>> {
    let mut q = within(cx);
    if let Some(a) = after {
        q = q.filter(team::Column::Id.gt(a));
    }
    let teams = q
        .order_by_asc(team::Column::Id)
        .limit(limit)
        .all(&app.db)
        .await?;
    let ids: Vec<Uuid> = teams.iter().map(|t| t.id).collect();
    let mut members = members_of(&app.db, cx, &ids).await?;
    Ok(teams
        .into_iter()
        .map(|t| {
            let m = members.remove(&t.id).unwrap_or_default();
            (t, m)
        })
        .collect())
}

/// One team within reach of `cx` with its members.
pub(crate) async fn get(app: &App, cx: &Cx, id: Uuid) -> Result<(team::Model, Vec<Uuid>)> {
    let t = reachable(&app.db, cx, id).await?;
    let members = members_of(&app.db, cx, &[t.id])
        .await?
        .remove(&t.id)
        .unwrap_or_default();
    Ok((t, members))
}

/// The trimmed name and its key (lower-cased, inner spacing collapsed).
fn clean_name(name: &str) -> Result<(String, String)> {
    let name = required("name", name, 100)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let key = name.to_lowercase();
    Ok((name, key))
}

/// The members as given (repeats dropped), with the leader added when missing; each a user
/// of the tenant, else 422 naming the first unknown one (`member_ids[2]`, `leader_user_id`).
async fn check_people(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    members: &[Uuid],
    leader: Option<Uuid>,
) -> Result<Vec<Uuid>> {
    if members.len() > MAX_MEMBERS {
        return Err(Error::invalid(
            "member_ids",
            msg!("at most {MAX_MEMBERS} members", MAX_MEMBERS),
        ));
    }
    let mut wanted: Vec<Uuid> = members.to_vec();
    wanted.extend(leader);
    let known: HashSet<Uuid> = user::Entity::scoped(t)
        .filter(user::Column::Id.is_in(wanted.clone()))
        .select_only()
        .column(user::Column::Id)
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(members.len() + 1);
    for (i, m) in members.iter().enumerate() {
        if !known.contains(m) {
            return Err(Error::invalid(
                format!("member_ids[{i}]"),
                msg!("not a user of this tenant"),
            ));
        }
        if !out.contains(m) {
            out.push(*m);
        }
    }
    if let Some(l) = leader {
        if !known.contains(&l) {
            return Err(Error::invalid(
                "leader_user_id",
                msg!("not a user of this tenant"),
            ));
        }
        // The leader is a member: leading a team one does not reach would be meaningless.
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

/// 422 unless `id` is an establishment of the tenant.
async fn check_establishment(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    id: Option<Uuid>,
) -> Result<()> {
    let Some(id) = id else { return Ok(()) };
    let found = establishment::Entity::scoped(t)
        .filter(establishment::Column::Id.eq(id))
        .one(conn)
        .await?;
    if found.is_none() {
        return Err(Error::invalid(
            "establishment_id",
            msg!("not an establishment of this tenant"),
        ));
    }
    Ok(())
}

fn name_taken(e: sea_orm::DbErr) -> Error {
    map_unique(
        e,
        "team_name_taken",
        msg!("the tenant already has a team of this name"),
        "name",
    )
}

fn out_of_reach() -> Error {
    Error::forbidden(msg!(
        "this team would be outside your reach (your establishment, or a team of yours)"
    ))
}

/// Replaces the members of a team by `members`, in their order.
async fn write_members(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    team_id: Uuid,
    members: &[Uuid],
    replace: bool,
) -> Result<()> {
    if replace {
        team_member::Entity::delete_in(t)
            .filter(team_member::Column::TeamId.eq(team_id))
            .exec(conn)
            .await?;
    }
    if members.is_empty() {
        return Ok(());
    }
    let tenant_id = t.tenant().uuid();
    team_member::Entity::insert_many(members.iter().zip(0..).map(|(u, position)| {
        team_member::ActiveModel {
            tenant_id: Set(tenant_id),
            team_id: Set(team_id),
            user_id: Set(*u),
            position: Set(position),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

fn snapshot(t: &team::Model, members: &[Uuid]) -> serde_json::Value {
    json!({
        "name": t.name,
        "establishment_id": t.establishment_id,
        "leader_user_id": t.leader_user_id,
        "member_ids": members,
    })
}

/// Creates a team (a write context of `teams`).
pub(crate) async fn create(app: &App, cx: &Cx, b: NewTeam) -> Result<(team::Model, Vec<Uuid>)> {
    let (name, name_key) = clean_name(&b.name)?;
    let establishment = b.establishment_id.or(if cx.scope() < Scope::Tenant {
        cx.establishment_id()
    } else {
        None
    });
    check_establishment(&app.db, cx, establishment).await?;
    let members = check_people(&app.db, cx, &b.member_ids, b.leader_user_id).await?;
    if !stays_within(cx, establishment, &members) {
        return Err(out_of_reach());
    }
    let mut uow = Uow::begin(app, cx).await?;
    let now = uow.now();
    let t = team::ActiveModel {
        tenant_id: Set(cx.tenant().uuid()),
        id: Set(Uuid::now_v7()),
        name: Set(name),
        name_key: Set(name_key),
        establishment_id: Set(establishment),
        leader_user_id: Set(b.leader_user_id),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(uow.txn())
    .await
    .map_err(name_taken)?;
    write_members(uow.txn(), cx, t.id, &members, false).await?;
    uow.record(Activity::new("team", t.id, "created").changes(snapshot(&t, &members)))
        .await?;
    if !members.is_empty() {
        uow.after_commit(AfterCommit::Publish(principals_changed(Some(t.tenant_id))));
    }
    uow.commit().await?;
    Ok((t, members))
}

/// Changes a team within reach of `cx` (a write context of `teams`); `if_match` is the ETag
/// the caller read (412 when the team changed since).
pub(crate) async fn patch(
    app: &App,
    cx: &Cx,
    id: Uuid,
    if_match: Option<&str>,
    b: TeamPatch,
) -> Result<(team::Model, Vec<Uuid>)> {
    let mut uow = Uow::begin(app, cx).await?;
    let current = reachable(uow.txn(), cx, id).await?;
    if let Some(m) = if_match
        && !forecourt_core::http::if_match(m, current.version)
    {
        return Err(Error::PreconditionFailed);
    }
    if !uow
        .claim::<team::Entity>(current.id, current.version)
        .await?
    {
        return Err(Error::conflict(
            "write_conflict",
            msg!("the team is being changed by someone else; retry"),
        ));
    }
    let before_members = members_of(uow.txn(), cx, &[current.id])
        .await?
        .remove(&current.id)
        .unwrap_or_default();
    let before = snapshot(&current, &before_members);
    let mut am: team::ActiveModel = current.clone().into();
    if let Some(n) = &b.name {
        let (name, key) = clean_name(n)?;
        am.name = Set(name);
        am.name_key = Set(key);
    }
    let establishment = match b.establishment_id {
        MaybeUndefined::Value(e) => Some(e),
        MaybeUndefined::Null => None,
        MaybeUndefined::Undefined => current.establishment_id,
    };
    if establishment != current.establishment_id {
        check_establishment(uow.txn(), cx, establishment).await?;
    }
    am.establishment_id = Set(establishment);
    let leader = match b.leader_user_id {
        MaybeUndefined::Value(l) => Some(l),
        MaybeUndefined::Null => None,
        MaybeUndefined::Undefined => current.leader_user_id,
    };
    am.leader_user_id = Set(leader);
    let given = b.member_ids.as_deref().unwrap_or(&before_members);
    let members = check_people(uow.txn(), cx, given, leader).await?;
    if !stays_within(cx, establishment, &members) {
        return Err(out_of_reach());
    }
    am.updated_at = Set(uow.now());
    am.version = Set(current.version + 1);
    let t = am.update(uow.txn()).await.map_err(name_taken)?;
    let members_changed = members != before_members;
    if members_changed {
        write_members(uow.txn(), cx, t.id, &members, true).await?;
    }
    uow.record(
        Activity::new("team", t.id, "updated")
            .changes(activity::diff(&before, &snapshot(&t, &members))),
    )
    .await?;
    if members_changed {
        // Every member's principal carries their teams: each node resolves them again.
        uow.after_commit(AfterCommit::Publish(principals_changed(Some(t.tenant_id))));
    }
    uow.commit().await?;
    Ok((t, members))
}

/// The 409 for a team that records are still assigned to, counted per kind.
fn team_in_use(used_by: BTreeMap<String, u64>) -> Error {
    Error::InUse {
        kind: "team_in_use",
        detail: msg!(
            "records are still assigned to this team; assign them to another team or to \
                 nobody first"
        ),
        used_by,
    }
}

/// Deletes a team within reach of `cx` (a delete context of `teams`) that nothing is assigned
/// to; a team in use is refused (409 `team_in_use`, with the counts per kind).
pub(crate) async fn delete(app: &App, cx: &Cx, id: Uuid) -> Result<()> {
    let mut uow = Uow::begin(app, cx).await?;
    let t = reachable(uow.txn(), cx, id).await?;
    // Refused rather than unassigning: the records would silently leave the members' reach.
    let mut used_by = BTreeMap::new();
    for users in &app.ports.team_users {
        let n = users.count(uow.txn(), t.tenant_id, t.id).await?;
        if n > 0 {
            used_by.insert(users.kind().to_string(), n);
        }
    }
    if !used_by.is_empty() {
        return Err(team_in_use(used_by));
    }
    let members = members_of(uow.txn(), cx, &[t.id])
        .await?
        .remove(&t.id)
        .unwrap_or_default();
    team::Entity::delete_in(cx)
        .filter(team::Column::Id.eq(t.id))
        .exec(uow.txn())
        .await
        .map_err(|e| match e.sql_err() {
            // A record assigned by a concurrent request after the count.
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => team_in_use(BTreeMap::new()),
            _ if e.to_string().contains("FOREIGN KEY constraint failed") => {
                team_in_use(BTreeMap::new())
            }
            _ => Error::from(e),
        })?;
    uow.record(Activity::new("team", t.id, "deleted").changes(snapshot(&t, &members)))
        .await?;
    uow.after_commit(AfterCommit::Publish(principals_changed(Some(t.tenant_id))));
    uow.commit().await
}
