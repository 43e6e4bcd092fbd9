//! The rules of opportunities: who reaches which, the closed rule, the version claim every
//! writer makes, and opening one (from the API, from a partner's lead, from the demo seed).

use crate::opportunities::{
    assignment::{check_team, within},
    entities::{opportunity, opportunity_contact},
    links::{add_vehicles, link_contacts, linkable, links, role, set_vehicles},
    mail,
    views::{Assignment, LinkedContact, NewOpportunity, OpportunityPatch},
};
use chrono::{DateTime, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::Scope,
    activity,
    context::TenantUser,
    ports::{
        directory::DirectoryKind,
        statuses::{StatusEntity, StatusSet},
    },
    status_history::{self, Cause, StatusMove},
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use poem_openapi::types::MaybeUndefined;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseExecutor,
    EntityTrait, PaginatorTrait, QueryFilter, Select,
};
use serde_json::json;
use uuid::Uuid;

/// The opportunities `user` reaches at `scope`: all of the tenant's, those of the user's
/// establishment or their own, or their own: assigned to the user or to a team of theirs.
/// Every read of opportunities (lists, the lead page, the activity log, the lead-source
/// report) applies this one rule.
pub(crate) fn reach(user: &TenantUser, scope: Scope) -> Condition {
    let mut own = Condition::any().add(opportunity::Column::AssignedUserId.eq(user.user_id));
    if !user.team_ids.is_empty() {
        own = own.add(opportunity::Column::AssignedTeamId.is_in(user.team_ids.clone()));
    }
    match scope {
        Scope::Tenant => Condition::all(),
        Scope::Establishment => match user.establishment_id {
            Some(e) => Condition::any()
                .add(opportunity::Column::EstablishmentId.eq(e))
                .add(own),
            None => own,
        },
        Scope::Own => own,
    }
}

/// The opportunities `user` reaches at `scope`: what its activity entries are shown for.
pub fn readable(user: &TenantUser, scope: Scope) -> Select<opportunity::Entity> {
    opportunity::Entity::scoped(user).filter(reach(user, scope))
}

/// The opportunities the context's grant reaches.
pub(crate) fn in_reach(cx: &Cx) -> Select<opportunity::Entity> {
    readable(cx.user(), cx.scope())
}

/// The tenant's opportunity statuses: every rule that depends on a status asks them.
pub async fn statuses(app: &App, db: DatabaseExecutor<'_>, t: &impl Tenanted) -> Result<StatusSet> {
    app.ports
        .statuses
        .of(app, db, t.tenant(), StatusEntity::Opportunity)
        .await
}

/// The opportunity `id` if the context reaches it (404 otherwise, like a missing one).
pub(crate) async fn load(
    conn: &impl ConnectionTrait,
    cx: &Cx,
    id: Uuid,
) -> Result<opportunity::Model> {
    in_reach(cx)
        .filter(opportunity::Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("opportunity"))
}

/// What a writer is about to change on an opportunity. Every writer names it when it claims
/// the opportunity ([`lock`]), so the closed rule ([`check_change`]) cannot be forgotten by a
/// new write path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    /// Customer information, source or vehicles of interest (`PATCH`).
    Fields,
    /// A status change (which statuses may follow which is the statuses port's rule).
    Status,
    /// Reassignment to another user or establishment.
    Assignment,
    /// Linking or unlinking contacts.
    Contacts,
    /// Adding or changing a lead-page action that plans or commits to something (offers,
    /// tasks, test drives, ...).
    Action,
    /// Adding a comment or a document: the record of what happened, which a closed
    /// opportunity still takes.
    Remark,
    /// Sending the purchase order to the customer.
    PurchaseOrder,
}

impl Change {
    /// Adding or changing a lead-page action: a remark (comment, document) or not.
    pub(crate) fn action(remark: bool) -> Self {
        if remark {
            Change::Remark
        } else {
            Change::Action
        }
    }
}

/// The rule of closed opportunities, in one place: once won or lost, an opportunity takes
/// only comments, documents and a reopen (a status change back to an open status, by whoever
/// may change its status); everything else is 409 `opportunity_closed`. A sale or a loss is a
/// record: offers, purchase orders, tasks or a new assignee on it would be acted upon as if
/// the customer were still being worked.
pub(crate) fn check_change(
    o: &opportunity::Model,
    change: Change,
    statuses: &StatusSet,
) -> Result<()> {
    if !statuses.kind(&o.status).is_closed() {
        return Ok(());
    }
    let allowed = match change {
        // Which statuses may follow a closed one is the statuses port's rule (a reopen, or a
        // transition the tenant lists): see `change_status`.
        Change::Status => true,
        Change::Remark => true,
        Change::Fields
        | Change::Assignment
        | Change::Contacts
        | Change::Action
        | Change::PurchaseOrder => false,
    };
    if allowed { Ok(()) } else { Err(closed(o)) }
}

/// 409 `opportunity_closed`: what a closed opportunity answers to a change it does not take.
pub(crate) fn closed(o: &opportunity::Model) -> Error {
    Error::conflict(
        "opportunity_closed",
        msg!(
            "this opportunity is {status}: it takes only comments, documents and a reopen (a \
             change back to an open status)",
            status = &o.status
        ),
    )
}

/// Loads an opportunity for writing and claims it for the unit of work ([`Uow::claim`]). On
/// PostgreSQL the claim takes the row lock, so concurrent writers to one opportunity run one
/// after the other and each sees the state the previous one left (a closed status, a linked
/// contact); a writer that still lost the race gets 409 `write_conflict`. The `change` is
/// checked against the claimed state ([`check_change`]); on refusal the caller drops the
/// unit of work, so nothing is written. The returned model carries the new version. `cx`
/// must be a write context of `opportunities`.
pub(crate) async fn lock(
    uow: &Uow<'_>,
    cx: &Cx,
    id: Uuid,
    change: Change,
) -> Result<opportunity::Model> {
    let statuses = statuses(uow.app(), uow.txn().into(), cx).await?;
    lock_in(uow, cx, id, change, &statuses).await
}

/// [`lock`] for a writer that already holds the tenant's opportunity statuses.
pub(crate) async fn lock_in(
    uow: &Uow<'_>,
    cx: &Cx,
    id: Uuid,
    change: Change,
    statuses: &StatusSet,
) -> Result<opportunity::Model> {
    for _ in 0..3 {
        let mut o = load(uow.txn(), cx, id).await?;
        if uow.claim::<opportunity::Entity>(o.id, o.version).await? {
            // The claim proves `o` is the current state: judge the change on it.
            check_change(&o, change, statuses)?;
            o.version += 1;
            return Ok(o);
        }
        // Another writer committed in between: read its result and claim again.
    }
    Err(Error::conflict(
        "write_conflict",
        msg!("the opportunity is being changed by someone else; retry"),
    ))
}

/// An opportunity to open. The path that opens it (the API, lead intake, the demo seed) has
/// checked who may and what it links; [`open`] writes it.
#[derive(Debug, Clone)]
pub struct Opening {
    /// Its status (the set's initial one, or an open one the caller chose).
    pub status: String,
    /// Why it was lost, for an opportunity opened lost (the demo's).
    pub lost_reason: Option<String>,
    /// What the customer wants.
    pub customer_info: Option<String>,
    /// Its lead source.
    pub source_id: Option<Uuid>,
    /// The salesperson.
    pub assigned_user_id: Option<Uuid>,
    /// The team (checked to be the tenant's).
    pub assigned_team_id: Option<Uuid>,
    /// The establishment.
    pub establishment_id: Option<Uuid>,
    /// Who opened it (`None` for the system).
    pub created_by: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
    /// Its contacts with their roles, in order, without repeats.
    pub contacts: Vec<(Uuid, Option<String>)>,
    /// Stock vehicles of interest (checked to be the tenant's; repeats dropped).
    pub vehicle_ids: Vec<Uuid>,
}

/// Opens an opportunity in the tenant of `t`: the one place its row and links are written.
/// The caller records the activity.
pub async fn open(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    statuses: &StatusSet,
    new: Opening,
) -> Result<opportunity::Model> {
    let tenant = t.tenant().uuid();
    let id = Uuid::now_v7();
    let closed = statuses.kind(&new.status).is_closed();
    let o = opportunity::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(id),
        status: Set(new.status),
        lost_reason: Set(new.lost_reason),
        customer_info: Set(new.customer_info),
        source_id: Set(new.source_id),
        assigned_user_id: Set(new.assigned_user_id),
        assigned_team_id: Set(new.assigned_team_id),
        establishment_id: Set(new.establishment_id),
        expired: Set(false),
        created_by: Set(new.created_by),
        created_at: Set(new.at),
        updated_at: Set(new.at),
        closed_at: Set(closed.then_some(new.at)),
        version: Set(1),
    }
    .insert(conn)
    .await?;
    // A new opportunity has no children yet: one insert per table, nothing to delete.
    let contacts = new
        .contacts
        .into_iter()
        .zip(0..)
        .map(|((contact_id, role), position)| (contact_id, role, position))
        .collect();
    link_contacts(conn, t, id, contacts).await?;
    add_vehicles(conn, t, id, &new.vehicle_ids).await?;
    // The history starts with the status it opened in: time in that status is then known.
    status_history::append(
        conn,
        t,
        StatusEntity::Opportunity,
        new.created_by,
        new.at,
        if new.created_by.is_some() {
            Cause::User
        } else {
            Cause::Intake
        },
        vec![StatusMove {
            record_id: id,
            from: None,
            to: o.status.clone(),
            entered_from: None,
            reason: o.lost_reason.clone(),
            note: None,
        }],
    )
    .await?;
    Ok(o)
}

/// Checks a lead source can be set: the tenant has the `sources` module and the source.
pub(crate) async fn check_source(app: &App, t: &impl Tenanted, source: Option<Uuid>) -> Result<()> {
    let Some(s) = source else { return Ok(()) };
    let info = app
        .ports
        .directory
        .tenant_info(app, t.tenant().uuid())
        .await?;
    let has_sources = app
        .registry
        .get("sources")
        .is_some_and(|m| app.registry.is_available(m, info.as_ref()));
    if !has_sources {
        return Err(Error::invalid(
            "source_id",
            msg!("lead sources need the `sources` module (Expert)"),
        ));
    }
    let known = app
        .ports
        .lead_sources
        .get((&app.db).into(), t.tenant(), s)
        .await?;
    if known.is_none() {
        return Err(Error::invalid(
            "source_id",
            msg!("not a lead source of this tenant"),
        ));
    }
    Ok(())
}

/// Whether `id` is a user (`DirectoryKind::User`) or an establishment of the tenant.
pub(crate) async fn in_directory(
    app: &App,
    t: &impl Tenanted,
    kind: DirectoryKind,
    id: Uuid,
) -> Result<bool> {
    app.ports
        .directory
        .exists((&app.db).into(), t.tenant(), kind, id)
        .await
}

/// How many opportunities came from a lead source.
async fn count_of_source(conn: &impl ConnectionTrait, t: TenantId, source_id: Uuid) -> Result<u64> {
    Ok(opportunity::Entity::scoped(&t)
        .filter(opportunity::Column::SourceId.eq(source_id))
        .count(conn)
        .await?)
}

/// Creates an opportunity for the caller of `cx` (a write context of `opportunities`);
/// answers it and the contacts it linked.
pub(crate) async fn create(
    app: &App,
    cx: &Cx,
    b: NewOpportunity,
) -> Result<(opportunity::Model, Vec<Uuid>)> {
    if b.contacts.is_empty() {
        return Err(Error::invalid(
            "contacts",
            msg!("link at least one contact"),
        ));
    }
    let statuses = statuses(app, (&app.db).into(), cx).await?;
    let status = match b.status {
        Some(s) => s,
        None => statuses.initial().unwrap_or_default().to_string(),
    };
    if statuses.get(&status).is_none() || statuses.kind(&status).is_closed() {
        return Err(Error::invalid("status", msg!("an open status")));
    }
    check_source(app, cx, b.source_id).await?;
    let assigned = b.assigned_user_id.unwrap_or(cx.user_id());
    if !in_directory(app, cx, DirectoryKind::User, assigned).await? {
        return Err(Error::invalid(
            "assigned_user_id",
            msg!("not a user of this tenant"),
        ));
    }
    let establishment = b.establishment_id.or(cx.establishment_id());
    if let Some(e) = establishment
        && !in_directory(app, cx, DirectoryKind::Establishment, e).await?
    {
        return Err(Error::invalid(
            "establishment_id",
            msg!("not an establishment of this tenant"),
        ));
    }
    check_team(app, cx, "assigned_team_id", b.assigned_team_id).await?;
    if !within(cx, Some(assigned), b.assigned_team_id, None, establishment) {
        return Err(Error::forbidden(msg!(
            "this opportunity would be outside your reach (owner, team or establishment)"
        )));
    }
    let customer_info = b
        .customer_info
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let uow = Uow::begin(app, cx).await?;
    let mut contact_ids = Vec::new();
    for lc in &b.contacts {
        if !contact_ids.contains(&lc.contact_id) {
            linkable(uow.txn(), app, cx, lc.contact_id).await?;
            contact_ids.push(lc.contact_id);
        }
    }
    let mut contacts = Vec::new();
    for cid in &contact_ids {
        let first = b.contacts.iter().find(|l| l.contact_id == *cid);
        contacts.push((*cid, role(first.and_then(|l| l.role.as_deref()))?));
    }
    let opening = Opening {
        status,
        lost_reason: None,
        customer_info,
        source_id: b.source_id,
        assigned_user_id: Some(assigned),
        assigned_team_id: b.assigned_team_id,
        establishment_id: establishment,
        created_by: Some(cx.user_id()),
        at: uow.now(),
        contacts,
        vehicle_ids: b.vehicle_ids,
    };
    let o = open(uow.txn(), cx, &statuses, opening).await?;
    uow.record(
        Activity::new("opportunity", o.id, "created")
            .changes(json!({"status": o.status, "contacts": contact_ids})),
    )
    .await?;
    uow.commit().await?;
    Ok((o, contact_ids))
}

/// Changes customer information, source and vehicles of interest. `if_match` is the ETag the
/// caller read (412 when the opportunity changed since).
pub(crate) async fn patch(
    app: &App,
    cx: &Cx,
    id: Uuid,
    if_match: Option<&str>,
    b: OpportunityPatch,
) -> Result<opportunity::Model> {
    if let MaybeUndefined::Value(s) = b.source_id {
        check_source(app, cx, Some(s)).await?;
    }
    let uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, id, Change::Fields).await?;
    // `lock` claimed the row by bumping its version: the caller read the one before.
    if let Some(m) = if_match
        && !forecourt_core::http::if_match(m, o.version - 1)
    {
        return Err(Error::PreconditionFailed);
    }
    let mut am: opportunity::ActiveModel = o.clone().into();
    match b.customer_info {
        MaybeUndefined::Value(c) => {
            am.customer_info = Set(Some(c.trim().to_string()).filter(|c| !c.is_empty()))
        }
        MaybeUndefined::Null => am.customer_info = Set(None),
        MaybeUndefined::Undefined => {}
    }
    match b.source_id {
        MaybeUndefined::Value(s) => am.source_id = Set(Some(s)),
        MaybeUndefined::Null => am.source_id = Set(None),
        MaybeUndefined::Undefined => {}
    }
    if let Some(v) = &b.vehicle_ids {
        set_vehicles(uow.txn(), cx, o.id, v).await?;
    }
    am.updated_at = Set(uow.now());
    let updated = am.update(uow.txn()).await?;
    let changes = activity::diff(
        &json!({"customer_info": o.customer_info, "source_id": o.source_id}),
        &json!({"customer_info": updated.customer_info, "source_id": updated.source_id}),
    );
    uow.record(Activity::new("opportunity", o.id, "updated").changes(changes))
        .await?;
    uow.commit().await?;
    Ok(updated)
}

/// Reassigns to another user and/or establishment of the tenant, within the caller's reach;
/// a new assignee gets a mail.
pub(crate) async fn assign(
    app: &App,
    cx: &Cx,
    id: Uuid,
    b: Assignment,
) -> Result<opportunity::Model> {
    if b.user_id.is_none() && b.establishment_id.is_none() && b.team_id.is_none() {
        return Err(Error::invalid(
            "user_id",
            msg!("give a user, a team, an establishment, or several"),
        ));
    }
    check_team(app, cx, "team_id", b.team_id).await?;
    if let Some(u) = b.user_id
        && !in_directory(app, cx, DirectoryKind::User, u).await?
    {
        return Err(Error::invalid("user_id", msg!("not a user of this tenant")));
    }
    if let Some(e) = b.establishment_id
        && !in_directory(app, cx, DirectoryKind::Establishment, e).await?
    {
        return Err(Error::invalid(
            "establishment_id",
            msg!("not an establishment of this tenant"),
        ));
    }
    let mut uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, id, Change::Assignment).await?;
    let (user, team, est) = (
        b.user_id.or(o.assigned_user_id),
        b.team_id.or(o.assigned_team_id),
        b.establishment_id.or(o.establishment_id),
    );
    if !within(cx, user, team, o.assigned_team_id, est) {
        return Err(Error::forbidden(msg!(
            "the opportunity would leave your reach (owner, team or establishment)"
        )));
    }
    let mut am: opportunity::ActiveModel = o.clone().into();
    am.assigned_user_id = Set(user);
    am.assigned_team_id = Set(team);
    am.establishment_id = Set(est);
    am.updated_at = Set(uow.now());
    let updated = am.update(uow.txn()).await?;
    if user != o.assigned_user_id
        && let Some(new_user) = user
    {
        mail::notify_assignee(&uow, cx, &updated, new_user).await?;
    }
    let changes = activity::diff(
        &json!({"assigned_user_id": o.assigned_user_id, "assigned_team_id": o.assigned_team_id, "establishment_id": o.establishment_id}),
        &json!({"assigned_user_id": user, "assigned_team_id": team, "establishment_id": est}),
    );
    uow.record(Activity::new("opportunity", o.id, "assigned").changes(changes))
        .await?;
    uow.after_commit(AfterCommit::WakeMailer);
    uow.commit().await?;
    Ok(updated)
}

/// Links a contact with a role (blocked: 422 `contact_blocked`).
pub(crate) async fn link(
    app: &App,
    cx: &Cx,
    id: Uuid,
    body: LinkedContact,
) -> Result<opportunity::Model> {
    let uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, id, Change::Contacts).await?;
    linkable(uow.txn(), app, cx, body.contact_id).await?;
    let r = role(body.role.as_deref())?;
    let existing = links(uow.txn(), cx, o.id).await?;
    if existing.iter().any(|l| l.contact_id == body.contact_id) {
        return Err(Error::conflict(
            "already_linked",
            msg!("this contact is already on the opportunity"),
        ));
    }
    opportunity_contact::Entity::insert(opportunity_contact::ActiveModel {
        tenant_id: Set(o.tenant_id),
        opportunity_id: Set(o.id),
        contact_id: Set(body.contact_id),
        role: Set(r.clone()),
        position: Set(existing.iter().map(|l| l.position + 1).max().unwrap_or(0)),
    })
    .exec_without_returning(uow.txn())
    .await?;
    uow.record(
        Activity::new("opportunity", o.id, "contact_linked")
            .changes(json!({"contact_id": body.contact_id, "role": r})),
    )
    .await?;
    uow.commit().await?;
    Ok(o)
}

/// Unlinks a contact; an opportunity keeps at least one (409 `last_contact`).
pub(crate) async fn unlink(app: &App, cx: &Cx, id: Uuid, contact_id: Uuid) -> Result<()> {
    let uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, id, Change::Contacts).await?;
    let links = links(uow.txn(), cx, o.id).await?;
    if !links.iter().any(|l| l.contact_id == contact_id) {
        return Err(Error::NotFound("linked contact"));
    }
    if links.len() == 1 {
        return Err(Error::conflict(
            "last_contact",
            msg!("an opportunity keeps at least one contact"),
        ));
    }
    opportunity_contact::Entity::delete_in(cx)
        .filter(opportunity_contact::Column::OpportunityId.eq(o.id))
        .filter(opportunity_contact::Column::ContactId.eq(contact_id))
        .exec(uow.txn())
        .await?;
    uow.record(
        Activity::new("opportunity", o.id, "contact_unlinked")
            .changes(json!({"contact_id": contact_id})),
    )
    .await?;
    uow.commit().await?;
    Ok(())
}

/// Opportunities as users of lead sources: a source an opportunity came from cannot be deleted.
pub struct OpportunitySources;

#[async_trait::async_trait]
impl forecourt_core::ports::lead_sources::LeadSourceUsers for OpportunitySources {
    fn kind(&self) -> &'static str {
        "opportunities"
    }

    async fn count(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant_id: Uuid,
        source_id: Uuid,
    ) -> Result<u64> {
        count_of_source(txn, TenantId::new(tenant_id), source_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forecourt_core::ports::statuses::{FixedStatuses, StatusKind};

    fn in_status(status: &str) -> opportunity::Model {
        let at = chrono::DateTime::<Utc>::UNIX_EPOCH;
        opportunity::Model {
            tenant_id: Uuid::nil(),
            id: Uuid::nil(),
            status: status.into(),
            lost_reason: None,
            customer_info: None,
            source_id: None,
            assigned_user_id: None,
            assigned_team_id: None,
            establishment_id: None,
            expired: false,
            created_by: None,
            created_at: at,
            updated_at: at,
            closed_at: None,
            version: 1,
        }
    }

    #[test]
    fn a_closed_opportunity_takes_only_remarks_and_a_status_change() {
        let statuses = FixedStatuses::set(StatusEntity::Opportunity);
        let closed = statuses.keys_of(StatusKind::Won).remove(0);
        let open = statuses.initial().unwrap().to_string();
        let o = in_status(&closed);
        assert!(check_change(&o, Change::Remark, &statuses).is_ok());
        // Which status may follow is the port's answer (see `change_status`).
        assert!(check_change(&o, Change::Status, &statuses).is_ok());
        for refused in [
            Change::Fields,
            Change::Assignment,
            Change::Contacts,
            Change::Action,
            Change::PurchaseOrder,
        ] {
            assert!(
                matches!(
                    check_change(&o, refused, &statuses),
                    Err(Error::Conflict {
                        kind: "opportunity_closed",
                        ..
                    })
                ),
                "{refused:?}"
            );
        }
        let o = in_status(&open);
        assert!(check_change(&o, Change::Action, &statuses).is_ok());
    }
}
