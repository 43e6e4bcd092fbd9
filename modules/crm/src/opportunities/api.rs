//! `/api/v1/opportunities`: leads linked to contacts, their status, assignment and the
//! system-owned `expired` flag (seed 004), and `/api/v1/settings/expiry`.

use crate::{
    contacts::service,
    expiry::service::{self as expiry, ExpirySettings, STATUSES, StatusKind, is_closed},
    opportunities::entities::opportunity,
    opportunities::entities::opportunity_contact,
    opportunities::entities::opportunity_vehicle,
    vehicles::api as vehicles,
};
use forecourt_core::{
    App, Error, Result,
    access::{Action, Scope},
    activity::{self, Actor},
    context::TenantUser,
    http::{Created, JsonBody, List, NoContent, TenantAuth, fetch_page},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder,
};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// Sales opportunities (leads).
    Opportunities,
    /// Tenant settings of the CRM.
    Settings,
}

/// A contact on an opportunity.
#[derive(Object, Deserialize, Debug, Clone)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LinkedContact {
    /// The contact.
    pub contact_id: Uuid,
    /// Its role, e.g. `driver`, `buyer`, `fleet manager` (useful when it belongs to a company).
    #[oai(validator(max_length = 60))]
    pub role: Option<String>,
}

/// An opportunity to create.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewOpportunity {
    /// At least one contact; blocked contacts cannot be linked (422 `contact_blocked`).
    pub contacts: Vec<LinkedContact>,
    /// What the customer wants, in their words.
    #[oai(validator(max_length = 4000))]
    pub customer_info: Option<String>,
    /// A lead source of the tenant (needs the `sources` module).
    pub source_id: Option<Uuid>,
    /// An open status (default `new`).
    #[oai(validator(max_length = 64))]
    pub status: Option<String>,
    /// The salesperson; the caller by default.
    pub assigned_user_id: Option<Uuid>,
    /// The establishment; the caller's by default.
    pub establishment_id: Option<Uuid>,
    /// Stock vehicles of interest.
    #[oai(default)]
    #[serde(default)]
    pub vehicle_ids: Vec<Uuid>,
}

/// Changes to an opportunity. Status, assignment and contacts have their own operations;
/// `expired` belongs to the system.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OpportunityPatch {
    /// What the customer wants.
    #[serde(default)]
    #[oai(validator(max_length = 4000))]
    pub customer_info: MaybeUndefined<String>,
    /// The lead source.
    #[serde(default)]
    pub source_id: MaybeUndefined<Uuid>,
    /// Vehicles of interest (replace the list).
    pub vehicle_ids: Option<Vec<Uuid>>,
}

/// A status change.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `new`, `taken_in_charge`, `offer_sent`, `sold_not_delivered`, `long_term_follow_up`,
    /// `won` or `lost`.
    #[oai(validator(max_length = 64))]
    pub status: String,
    /// Why it was lost (required for `lost`).
    #[oai(validator(max_length = 2000))]
    pub reason: Option<String>,
}

/// A reassignment.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The new salesperson.
    pub user_id: Option<Uuid>,
    /// The new establishment.
    pub establishment_id: Option<Uuid>,
}

/// A contact to unlink.
#[derive(Object, Deserialize, Debug)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Unlink {
    /// The contact.
    pub contact_id: Uuid,
}

/// A contact on an opportunity, as read.
#[derive(Object, Debug, Clone)]
pub struct LinkedContactView {
    /// The contact.
    pub contact_id: Uuid,
    /// Its role.
    #[oai(nullable)]
    pub role: Option<String>,
}

/// An opportunity as read.
#[derive(Object, Debug, Clone)]
pub struct OpportunityView {
    /// Opportunity id.
    pub id: Uuid,
    /// Linked contacts.
    pub contacts: Vec<LinkedContactView>,
    /// What the customer wants.
    #[oai(nullable)]
    pub customer_info: Option<String>,
    /// Lead source.
    #[oai(nullable)]
    pub source_id: Option<Uuid>,
    /// Status key.
    pub status: String,
    /// Why it was lost.
    #[oai(nullable)]
    pub lost_reason: Option<String>,
    /// Whether it is won or lost.
    pub closed: bool,
    /// Salesperson.
    #[oai(nullable)]
    pub assigned_user_id: Option<Uuid>,
    /// Establishment.
    #[oai(nullable)]
    pub establishment_id: Option<Uuid>,
    /// Vehicles of interest.
    pub vehicle_ids: Vec<Uuid>,
    /// Set by the system under the tenant's expiry rule; present only for callers with
    /// `opportunities.expired`/`read` (admins by default), never writable.
    #[oai(skip_serializing_if_is_none)]
    #[oai(nullable)]
    pub expired: Option<bool>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When it was won or lost.
    #[oai(nullable)]
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Bumped by every change to the opportunity or its lead page; its `ETag`.
    pub version: i32,
}

/// An opportunity with its `ETag` (send it back as `If-Match` to change it safely).
#[derive(poem_openapi::ApiResponse)]
pub enum OpportunityResponse {
    /// The opportunity.
    #[oai(status = 200)]
    Ok(Json<OpportunityView>, #[oai(header = "ETag")] String),
}

impl From<OpportunityView> for OpportunityResponse {
    fn from(v: OpportunityView) -> Self {
        let tag = forecourt_core::http::etag(v.version);
        OpportunityResponse::Ok(Json(v), tag)
    }
}

/// A created opportunity and the contacts' other open opportunities, so the client can offer
/// to extend one instead of keeping a duplicate.
#[derive(Object)]
pub struct CreatedOpportunity {
    /// The new opportunity.
    pub opportunity: OpportunityView,
    /// Other open opportunities of the linked contacts.
    pub other_open_opportunities: Vec<OpportunityView>,
}

fn reach(user: &TenantUser, scope: Scope) -> Condition {
    match scope {
        Scope::Tenant => Condition::all(),
        Scope::Establishment => match user.establishment_id {
            Some(e) => Condition::any()
                .add(opportunity::Column::EstablishmentId.eq(e))
                .add(opportunity::Column::AssignedUserId.eq(user.user_id)),
            None => Condition::all().add(opportunity::Column::AssignedUserId.eq(user.user_id)),
        },
        Scope::Own => Condition::all().add(opportunity::Column::AssignedUserId.eq(user.user_id)),
    }
}

/// The opportunities `user` reaches at `scope`: what its activity entries are shown for.
pub fn readable(user: &TenantUser, scope: Scope) -> sea_orm::Select<opportunity::Entity> {
    scoped(user.tenant_id).filter(reach(user, scope))
}

fn scoped(tenant_id: Uuid) -> sea_orm::Select<opportunity::Entity> {
    opportunity::Entity::find().filter(opportunity::Column::TenantId.eq(tenant_id))
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
        use sea_orm::PaginatorTrait;
        Ok(scoped(tenant_id)
            .filter(opportunity::Column::SourceId.eq(source_id))
            .count(txn)
            .await?)
    }
}

async fn views(
    app: &App,
    user: &TenantUser,
    rows: Vec<opportunity::Model>,
) -> Result<Vec<OpportunityView>> {
    let show_expired = app
        .authz
        .scope(user, "opportunities.expired", Action::Read)
        .await?
        .is_some();
    let ids: Vec<Uuid> = rows.iter().map(|o| o.id).collect();
    let links = opportunity_contact::Entity::find()
        .filter(opportunity_contact::Column::TenantId.eq(user.tenant_id))
        .filter(opportunity_contact::Column::OpportunityId.is_in(ids.clone()))
        .order_by_asc(opportunity_contact::Column::Position)
        .all(&app.db)
        .await?;
    let vehicles = opportunity_vehicle::Entity::find()
        .filter(opportunity_vehicle::Column::TenantId.eq(user.tenant_id))
        .filter(opportunity_vehicle::Column::OpportunityId.is_in(ids))
        .order_by_asc(opportunity_vehicle::Column::Position)
        .all(&app.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|o| OpportunityView {
            contacts: links
                .iter()
                .filter(|l| l.opportunity_id == o.id)
                .map(|l| LinkedContactView {
                    contact_id: l.contact_id,
                    role: l.role.clone(),
                })
                .collect(),
            vehicle_ids: vehicles
                .iter()
                .filter(|v| v.opportunity_id == o.id)
                .map(|v| v.vehicle_id)
                .collect(),
            closed: is_closed(&o.status),
            expired: show_expired.then_some(o.expired),
            id: o.id,
            customer_info: o.customer_info,
            source_id: o.source_id,
            status: o.status,
            lost_reason: o.lost_reason,
            assigned_user_id: o.assigned_user_id,
            establishment_id: o.establishment_id,
            created_at: o.created_at,
            updated_at: o.updated_at,
            closed_at: o.closed_at,
            version: o.version,
        })
        .collect())
}

/// The opportunities among `ids` the caller may read, open first, newest first.
pub async fn visible_views(
    app: &App,
    user: &TenantUser,
    ids: Vec<Uuid>,
) -> Result<Vec<OpportunityView>> {
    let scope = app
        .authz
        .require(user, "opportunities", Action::Read)
        .await?;
    let mut rows = scoped(user.tenant_id)
        .filter(opportunity::Column::Id.is_in(ids))
        .filter(reach(user, scope))
        .all(&app.db)
        .await?;
    rows.sort_by_key(|o| (is_closed(&o.status), std::cmp::Reverse(o.created_at)));
    views(app, user, rows).await
}

pub(crate) async fn load(
    app: &App,
    conn: &impl ConnectionTrait,
    user: &TenantUser,
    id: Uuid,
    action: Action,
) -> Result<opportunity::Model> {
    let scope = app.authz.require(user, "opportunities", action).await?;
    scoped(user.tenant_id)
        .filter(opportunity::Column::Id.eq(id))
        .filter(reach(user, scope))
        .one(conn)
        .await?
        .ok_or(Error::NotFound("opportunity"))
}

/// What a writer is about to change on an opportunity. Every writer names it when it claims
/// the opportunity ([`lock`]), so the closed rule ([`check_change`]) cannot be forgotten by a
/// new write path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// Customer information, source or vehicles of interest (`PATCH`).
    Fields,
    /// A status change to this status.
    Status(&'a str),
    /// Reassignment to another user or establishment.
    Assignment,
    /// Linking or unlinking contacts.
    Contacts,
    /// Adding or changing a lead-page action of this stored kind (documents included).
    Action(&'a str),
    /// Sending the purchase order to the customer.
    PurchaseOrder,
}

/// The rule of closed opportunities, in one place: once won or lost, an opportunity takes
/// only comments, documents and a reopen (a status change back to an open status, by whoever
/// may change its status); everything else is 409 `opportunity_closed`. A sale or a loss is a
/// record: offers, purchase orders, tasks or a new assignee on it would be acted upon as if
/// the customer were still being worked.
pub(crate) fn check_change(o: &opportunity::Model, change: Change<'_>) -> Result<()> {
    if !is_closed(&o.status) {
        return Ok(());
    }
    let allowed = match change {
        Change::Status(to) => !is_closed(to),
        Change::Action(kind) => {
            kind == <crate::lead_page::actions::Comment as crate::lead_page::actions::Kind>::KIND
                || kind == crate::lead_page::documents::KIND
        }
        Change::Fields | Change::Assignment | Change::Contacts | Change::PurchaseOrder => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::conflict(
            "opportunity_closed",
            format!(
                "this opportunity is {}: it takes only comments, documents and a reopen (a change back to an open status)",
                o.status
            ),
        ))
    }
}

/// Loads an opportunity for writing and claims it for this transaction: a version bump
/// guarded by the version just read. On PostgreSQL the update takes the row lock, so
/// concurrent writers to one opportunity run one after the other and each sees the state the
/// previous one left (a closed status, a linked contact); a writer that still lost the race
/// gets 409 `write_conflict`. The `change` is checked against the claimed state (a closed
/// opportunity refuses most changes, [`check_change`]); on refusal the caller drops the
/// transaction, so nothing is written. The returned model carries the new version.
pub(crate) async fn lock(
    app: &App,
    txn: &sea_orm::DatabaseTransaction,
    user: &TenantUser,
    id: Uuid,
    change: Change<'_>,
) -> Result<opportunity::Model> {
    for _ in 0..3 {
        let mut o = load(app, txn, user, id, Action::Write).await?;
        let claimed = opportunity::Entity::update_many()
            .col_expr(
                opportunity::Column::Version,
                sea_orm::prelude::Expr::value(o.version + 1),
            )
            .filter(opportunity::Column::TenantId.eq(o.tenant_id))
            .filter(opportunity::Column::Id.eq(o.id))
            .filter(opportunity::Column::Version.eq(o.version))
            .exec(txn)
            .await?;
        if claimed.rows_affected == 1 {
            // The claim proves `o` is the current state: judge the change on it.
            check_change(&o, change)?;
            o.version += 1;
            return Ok(o);
        }
        // Another writer committed in between: read its result and claim again.
    }
    Err(Error::conflict(
        "write_conflict",
        "the opportunity is being changed by someone else; retry",
    ))
}

/// Records `action` on the opportunity, commits, wakes the mailer when mail was queued, and
/// answers the opportunity as the caller sees it.
async fn commit_with(
    app: &App,
    txn: sea_orm::DatabaseTransaction,
    user: &TenantUser,
    o: opportunity::Model,
    action: &str,
    changes: serde_json::Value,
    mail_queued: bool,
) -> Result<OpportunityView> {
    activity::record(
        &txn,
        o.tenant_id,
        Actor::User(user),
        o.updated_at,
        "opportunity",
        o.id,
        action,
        changes,
    )
    .await?;
    txn.commit().await?;
    if mail_queued {
        app.mail.wake();
    }
    Ok(views(app, user, vec![o]).await?.remove(0))
}

/// Checks a contact can be linked: visible to the caller (404 otherwise) and not blocked.
async fn linkable(
    conn: &impl service::Conn,
    app: &App,
    user: &TenantUser,
    contact_id: Uuid,
) -> Result<()> {
    let cx = app.authz.context(user, "contacts", Action::Read).await?;
    let c = service::load_visible(app, conn, &cx, contact_id).await?;
    if c.contact.blocked {
        return Err(Error::Validation {
            kind: "contact_blocked",
            field: "contacts".into(),
            detail: format!(
                "{} is blocked and cannot be linked to an opportunity",
                c.contact.display_name
            ),
        });
    }
    Ok(())
}

fn role(v: Option<&str>) -> Result<Option<String>> {
    match v.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.chars().count() > 60 => Err(Error::invalid("role", "at most 60 characters")),
        other => Ok(other.map(str::to_string)),
    }
}

async fn check_source(app: &App, user: &TenantUser, source: Option<Uuid>) -> Result<()> {
    let Some(s) = source else { return Ok(()) };
    let info = app.ports.directory.tenant_info(app, user.tenant_id).await?;
    let has_sources = app
        .registry
        .get("sources")
        .is_some_and(|m| app.registry.is_available(m, info.as_ref()));
    if !has_sources {
        return Err(Error::invalid(
            "source_id",
            "lead sources need the `sources` module (Expert)",
        ));
    }
    if !lead_source_exists(&app.db, user.tenant_id, s).await? {
        return Err(Error::invalid(
            "source_id",
            "not a lead source of this tenant",
        ));
    }
    Ok(())
}

async fn set_vehicles(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    ids: &[Uuid],
) -> Result<()> {
    opportunity_vehicle::Entity::delete_many()
        .filter(opportunity_vehicle::Column::TenantId.eq(tenant_id))
        .filter(opportunity_vehicle::Column::OpportunityId.eq(id))
        .exec(conn)
        .await?;
    let mut seen = Vec::new();
    for (i, v) in ids.iter().enumerate() {
        if seen.contains(v) {
            continue;
        }
        if vehicles::scoped(tenant_id)
            .filter(crate::vehicles::entities::vehicle::Column::Id.eq(*v))
            .one(conn)
            .await?
            .is_none()
        {
            return Err(Error::invalid(
                format!("vehicle_ids[{i}]"),
                "not a vehicle of this tenant",
            ));
        }
        opportunity_vehicle::Entity::insert(opportunity_vehicle::ActiveModel {
            tenant_id: Set(tenant_id),
            opportunity_id: Set(id),
            vehicle_id: Set(*v),
            position: Set(seen.len() as i32),
        })
        .exec_without_returning(conn)
        .await?;
        seen.push(*v);
    }
    Ok(())
}

async fn open_opportunities_of(
    app: &App,
    user: &TenantUser,
    contact_ids: &[Uuid],
    except: Option<Uuid>,
) -> Result<Vec<OpportunityView>> {
    let ids: Vec<Uuid> = opportunity_contact::Entity::find()
        .filter(opportunity_contact::Column::TenantId.eq(user.tenant_id))
        .filter(opportunity_contact::Column::ContactId.is_in(contact_ids.to_vec()))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|l| l.opportunity_id)
        .filter(|id| Some(*id) != except)
        .collect();
    let all = visible_views(app, user, ids).await?;
    Ok(all.into_iter().filter(|o| !o.closed).collect())
}

/// Queues the mail telling the new assignee, in the tenant's language, inside `txn`.
async fn notify_assignee(
    app: &App,
    txn: &sea_orm::DatabaseTransaction,
    by: &TenantUser,
    o: &opportunity::Model,
    to: Uuid,
) -> Result<()> {
    let Some((email, name)) = service::user_mailbox(
        app,
        txn,
        &forecourt_core::tenancy::TenantId::new(o.tenant_id),
        to,
    )
    .await?
    else {
        return Ok(());
    };
    let by_name = service::user_mailbox(
        app,
        txn,
        &forecourt_core::tenancy::TenantId::new(o.tenant_id),
        by.user_id,
    )
    .await?
    .map(|(_, n)| n)
    .unwrap_or_default();
    let first = opportunity_contact::Entity::find()
        .filter(opportunity_contact::Column::TenantId.eq(o.tenant_id))
        .filter(opportunity_contact::Column::OpportunityId.eq(o.id))
        .order_by_asc(opportunity_contact::Column::Position)
        .one(txn)
        .await?;
    let customer = match first {
        Some(l) => service::scoped(&forecourt_core::tenancy::TenantId::new(o.tenant_id))
            .filter(crate::contacts::entities::contact::Column::Id.eq(l.contact_id))
            .one(txn)
            .await?
            .map(|c| c.display_name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let language = app
        .ports
        .directory
        .tenant_info(app, o.tenant_id)
        .await?
        .map(|i| i.language)
        .unwrap_or_else(|| "en".into());
    let link = format!(
        "{}/opportunities/{}",
        app.config.public_url.trim_end_matches('/'),
        o.id
    );
    let ctx = json!({"name": name, "by": by_name, "customer": customer, "status": o.status, "customer_info": o.customer_info, "link": link});
    app.mail
        .enqueue(
            txn,
            app.clock.now(),
            Some(o.tenant_id),
            &email,
            "assignment",
            &language,
            &ctx,
        )
        .await?;
    Ok(())
}

/// The opportunities of these contacts the caller may see, open first, at most `limit`.
pub async fn of_contacts(
    app: &App,
    user: &TenantUser,
    contact_ids: &[Uuid],
    limit: u64,
) -> Result<Vec<OpportunityView>> {
    if contact_ids.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Uuid> = opportunity_contact::Entity::find()
        .filter(opportunity_contact::Column::TenantId.eq(user.tenant_id))
        .filter(opportunity_contact::Column::ContactId.is_in(contact_ids.to_vec()))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|l| l.opportunity_id)
        .collect();
    let mut all = visible_views(app, user, ids).await?;
    all.truncate(limit as usize);
    Ok(all)
}

/// Moves a merged contact's opportunity links to the survivor (core `ContactsMerged`).
pub async fn move_links(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<()> {
    let links = opportunity_contact::Entity::find()
        .filter(opportunity_contact::Column::TenantId.eq(tenant_id))
        .filter(opportunity_contact::Column::ContactId.is_in(merged.to_vec()))
        .all(conn)
        .await?;
    for l in links {
        let exists =
            opportunity_contact::Entity::find_by_id((tenant_id, l.opportunity_id, survivor))
                .one(conn)
                .await?
                .is_some();
        if !exists {
            opportunity_contact::Entity::insert(opportunity_contact::ActiveModel {
                tenant_id: Set(tenant_id),
                opportunity_id: Set(l.opportunity_id),
                contact_id: Set(survivor),
                role: Set(l.role.clone()),
                position: Set(l.position),
            })
            .exec_without_returning(conn)
            .await?;
        }
        opportunity_contact::Entity::delete_by_id((tenant_id, l.opportunity_id, l.contact_id))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Opportunities.
pub struct OpportunitiesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Opportunities")]
impl OpportunitiesApi {
    /// List opportunities
    ///
    /// Within the caller's `opportunities`/`read` scope (own = assigned to them,
    /// establishment = of their site). Filter with `status`.
    #[oai(path = "/opportunities", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        status: Query<Option<String>>,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<OpportunityView>>> {
        let scope = app
            .authz
            .require(&auth.0, "opportunities", Action::Read)
            .await?;
        let mut q = scoped(auth.tenant_id()).filter(reach(&auth.0, scope));
        if let Some(s) = status.0 {
            q = q.filter(opportunity::Column::Status.eq(s));
        }
        let page = fetch_page(
            &app.db,
            q,
            opportunity::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        let items = views(&app, &auth.0, page.rows).await?;
        Ok(Json(List {
            items,
            next_cursor: page.next_cursor,
        }))
    }

    /// Create an opportunity
    ///
    /// Links at least one contact (blocked contacts: 422 `contact_blocked`; a contact the
    /// caller cannot see: 404). Answers with the contacts' other open opportunities, so the
    /// client can extend one rather than keep a duplicate.
    #[oai(path = "/opportunities", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewOpportunity>,
    ) -> poem::Result<Created<CreatedOpportunity>> {
        let scope = app
            .authz
            .require(&auth.0, "opportunities", Action::Write)
            .await?;
        let b = body.0;
        let t = auth.tenant_id();
        if b.contacts.is_empty() {
            return Err(Error::invalid("contacts", "link at least one contact").into());
        }
        let status = b.status.unwrap_or_else(|| "new".into());
        if !STATUSES.contains(&status.as_str()) || is_closed(&status) {
            return Err(Error::invalid("status", "an open status").into());
        }
        check_source(&app, &auth.0, b.source_id).await?;
        let assigned = b.assigned_user_id.unwrap_or(auth.0.user_id);
        if !app
            .ports
            .directory
            .exists(
                (&app.db).into(),
                forecourt_core::tenancy::TenantId::new(t),
                forecourt_core::ports::directory::DirectoryKind::User,
                assigned,
            )
            .await?
        {
            return Err(Error::invalid("assigned_user_id", "not a user of this tenant").into());
        }
        let establishment = b.establishment_id.or(auth.0.establishment_id);
        if let Some(e) = establishment
            && !app
                .ports
                .directory
                .exists(
                    (&app.db).into(),
                    forecourt_core::tenancy::TenantId::new(t),
                    forecourt_core::ports::directory::DirectoryKind::Establishment,
                    e,
                )
                .await?
        {
            return Err(
                Error::invalid("establishment_id", "not an establishment of this tenant").into(),
            );
        }
        let within = match scope {
            Scope::Tenant => true,
            Scope::Establishment => {
                establishment.is_some() && establishment == auth.0.establishment_id
            }
            Scope::Own => assigned == auth.0.user_id,
        };
        if !within {
            return Err(Error::forbidden(
                "this opportunity would be outside your reach (owner or establishment)",
            )
            .into());
        }
        let customer_info = b
            .customer_info
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        let now = app.clock.now();
        let id = Uuid::now_v7();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let mut contact_ids = Vec::new();
        for lc in &b.contacts {
            if !contact_ids.contains(&lc.contact_id) {
                linkable(&txn, &app, &auth.0, lc.contact_id).await?;
                contact_ids.push(lc.contact_id);
            }
        }
        let o = opportunity::ActiveModel {
            tenant_id: Set(t),
            id: Set(id),
            status: Set(status),
            lost_reason: Set(None),
            customer_info: Set(customer_info),
            source_id: Set(b.source_id),
            assigned_user_id: Set(Some(assigned)),
            establishment_id: Set(establishment),
            expired: Set(false),
            created_by: Set(Some(auth.0.user_id)),
            created_at: Set(now),
            updated_at: Set(now),
            closed_at: Set(None),
            version: Set(1),
        }
        .insert(&txn)
        .await
        .map_err(Error::from)?;
        for (i, cid) in contact_ids.iter().enumerate() {
            let r = role(
                b.contacts
                    .iter()
                    .find(|l| l.contact_id == *cid)
                    .and_then(|l| l.role.as_deref()),
            )?;
            opportunity_contact::Entity::insert(opportunity_contact::ActiveModel {
                tenant_id: Set(t),
                opportunity_id: Set(id),
                contact_id: Set(*cid),
                role: Set(r),
                position: Set(i as i32),
            })
            .exec_without_returning(&txn)
            .await
            .map_err(Error::from)?;
        }
        set_vehicles(&txn, t, id, &b.vehicle_ids).await?;
        activity::record(
            &txn,
            t,
            Actor::User(&auth.0),
            now,
            "opportunity",
            id,
            "created",
            json!({"status": o.status, "contacts": contact_ids}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        let opportunity = views(&app, &auth.0, vec![o]).await?.remove(0);
        let others = open_opportunities_of(&app, &auth.0, &contact_ids, Some(id)).await?;
        Ok(Created::Created(Json(CreatedOpportunity {
            opportunity,
            other_open_opportunities: others,
        })))
    }

    /// Get an opportunity
    ///
    /// With its `ETag`: send it back as `If-Match` when changing the opportunity.
    #[oai(path = "/opportunities/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<OpportunityResponse> {
        let o = load(&app, &app.db, &auth.0, id.0, Action::Read).await?;
        Ok(views(&app, &auth.0, vec![o]).await?.remove(0).into())
    }

    /// Change an opportunity
    ///
    /// Customer information, source and vehicles of interest. `expired` is the system's and is
    /// refused like any unknown field. With `If-Match` carrying a stale ETag (someone changed
    /// the opportunity since it was read) the answer is 412 and nothing changes. A won or lost
    /// opportunity answers 409 `opportunity_closed`: reopen it first.
    #[oai(path = "/opportunities/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: poem_openapi::param::Header<Option<String>>,
        body: JsonBody<OpportunityPatch>,
    ) -> poem::Result<OpportunityResponse> {
        let b = body.0;
        if let MaybeUndefined::Value(s) = b.source_id {
            check_source(&app, &auth.0, Some(s)).await?;
        }
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let o = lock(&app, &txn, &auth.0, id.0, Change::Fields).await?;
        // `lock` claimed the row by bumping its version: the caller read the one before.
        if let Some(m) = if_match.0.as_deref()
            && !forecourt_core::http::if_match(m, o.version - 1)
        {
            return Err(Error::PreconditionFailed.into());
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
            set_vehicles(&txn, o.tenant_id, o.id, v).await?;
        }
        let now = app.clock.now();
        am.updated_at = Set(now);
        let updated = am.update(&txn).await.map_err(Error::from)?;
        let changes = activity::diff(
            &json!({"customer_info": o.customer_info, "source_id": o.source_id}),
            &json!({"customer_info": updated.customer_info, "source_id": updated.source_id}),
        );
        let view = commit_with(&app, txn, &auth.0, updated, "updated", changes, false).await?;
        Ok(view.into())
    }

    /// Change the status
    ///
    /// Any open status to any other; `won` and `lost` close it (`lost` needs a `reason`). A
    /// closed opportunity can only be reopened (a change back to an open status, which clears
    /// `closed_at` and the lost reason); closing it again is 409 `opportunity_closed`.
    #[oai(path = "/opportunities/:id/status", method = "post")]
    async fn status(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<StatusChange>,
    ) -> poem::Result<Json<OpportunityView>> {
        let b = body.0;
        if !STATUSES.contains(&b.status.as_str()) {
            return Err(Error::invalid("status", format!("one of {}", STATUSES.join(", "))).into());
        }
        let reason = b
            .reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        let kind = StatusKind::of(&b.status);
        if kind == StatusKind::Lost && reason.is_none() {
            return Err(Error::invalid("reason", "say why the opportunity was lost").into());
        }
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let o = lock(&app, &txn, &auth.0, id.0, Change::Status(&b.status)).await?;
        let now = app.clock.now();
        let closing = kind.is_closed();
        let mut am: opportunity::ActiveModel = o.clone().into();
        am.status = Set(b.status.clone());
        am.lost_reason = Set(if kind == StatusKind::Lost {
            reason.clone()
        } else {
            None
        });
        am.closed_at = Set(closing.then_some(now));
        am.updated_at = Set(now);
        let updated = am.update(&txn).await.map_err(Error::from)?;
        let view = commit_with(
            &app,
            txn,
            &auth.0,
            updated,
            "status_changed",
            json!({"status": {"from": o.status, "to": b.status}, "reason": reason}),
            false,
        )
        .await?;
        Ok(Json(view))
    }

    /// Reassign
    ///
    /// To another user and/or establishment of the tenant; needs write access to the
    /// opportunity, and the result must stay within the caller's scope. A new assignee gets
    /// a mail in the tenant's language. A won or lost opportunity answers 409
    /// `opportunity_closed` (no mail).
    #[oai(path = "/opportunities/:id/assign", method = "post")]
    async fn assign(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<Assignment>,
    ) -> poem::Result<Json<OpportunityView>> {
        let b = body.0;
        if b.user_id.is_none() && b.establishment_id.is_none() {
            return Err(Error::invalid("user_id", "give a user, an establishment or both").into());
        }
        let t = auth.tenant_id();
        if let Some(u) = b.user_id
            && !app
                .ports
                .directory
                .exists(
                    (&app.db).into(),
                    forecourt_core::tenancy::TenantId::new(t),
                    forecourt_core::ports::directory::DirectoryKind::User,
                    u,
                )
                .await?
        {
            return Err(Error::invalid("user_id", "not a user of this tenant").into());
        }
        if let Some(e) = b.establishment_id
            && !app
                .ports
                .directory
                .exists(
                    (&app.db).into(),
                    forecourt_core::tenancy::TenantId::new(t),
                    forecourt_core::ports::directory::DirectoryKind::Establishment,
                    e,
                )
                .await?
        {
            return Err(
                Error::invalid("establishment_id", "not an establishment of this tenant").into(),
            );
        }
        let scope = app
            .authz
            .require(&auth.0, "opportunities", Action::Write)
            .await?;
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let o = lock(&app, &txn, &auth.0, id.0, Change::Assignment).await?;
        let (user, est) = (
            b.user_id.or(o.assigned_user_id),
            b.establishment_id.or(o.establishment_id),
        );
        let within = match scope {
            Scope::Tenant => true,
            Scope::Establishment => est.is_some() && est == auth.0.establishment_id,
            Scope::Own => user == Some(auth.0.user_id),
        };
        if !within {
            return Err(Error::forbidden(
                "the opportunity would leave your reach (owner or establishment)",
            )
            .into());
        }
        let now = app.clock.now();
        let mut am: opportunity::ActiveModel = o.clone().into();
        am.assigned_user_id = Set(user);
        am.establishment_id = Set(est);
        am.updated_at = Set(now);
        let updated = am.update(&txn).await.map_err(Error::from)?;
        if user != o.assigned_user_id
            && let Some(new_user) = user
        {
            notify_assignee(&app, &txn, &auth.0, &updated, new_user).await?;
        }
        let changes = activity::diff(
            &json!({"assigned_user_id": o.assigned_user_id, "establishment_id": o.establishment_id}),
            &json!({"assigned_user_id": user, "establishment_id": est}),
        );
        let view = commit_with(&app, txn, &auth.0, updated, "assigned", changes, true).await?;
        Ok(Json(view))
    }

    /// Link a contact
    ///
    /// Adds a contact with a role (blocked: 422 `contact_blocked`). Answers the linked contacts.
    /// A won or lost opportunity answers 409 `opportunity_closed`.
    #[oai(path = "/opportunities/:id/contacts", method = "post")]
    async fn link(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<LinkedContact>,
    ) -> poem::Result<Created<List<LinkedContactView>>> {
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let o = lock(&app, &txn, &auth.0, id.0, Change::Contacts).await?;
        linkable(&txn, &app, &auth.0, body.contact_id).await?;
        let r = role(body.role.as_deref())?;
        let existing = opportunity_contact::Entity::find()
            .filter(opportunity_contact::Column::TenantId.eq(o.tenant_id))
            .filter(opportunity_contact::Column::OpportunityId.eq(o.id))
            .all(&txn)
            .await
            .map_err(Error::from)?;
        if existing.iter().any(|l| l.contact_id == body.contact_id) {
            return Err(Error::conflict(
                "already_linked",
                "this contact is already on the opportunity",
            )
            .into());
        }
        opportunity_contact::Entity::insert(opportunity_contact::ActiveModel {
            tenant_id: Set(o.tenant_id),
            opportunity_id: Set(o.id),
            contact_id: Set(body.contact_id),
            role: Set(r.clone()),
            position: Set(existing.iter().map(|l| l.position + 1).max().unwrap_or(0)),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(Error::from)?;
        activity::record(
            &txn,
            o.tenant_id,
            Actor::User(&auth.0),
            app.clock.now(),
            "opportunity",
            o.id,
            "contact_linked",
            json!({"contact_id": body.contact_id, "role": r}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        let view = views(&app, &auth.0, vec![o]).await?.remove(0);
        Ok(Created::Created(Json(List {
            items: view.contacts,
            next_cursor: None,
        })))
    }

    /// Unlink a contact
    ///
    /// An opportunity keeps at least one contact (409 `last_contact`). A won or lost
    /// opportunity answers 409 `opportunity_closed`.
    #[oai(path = "/opportunities/:id/contacts", method = "delete")]
    async fn unlink(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<Unlink>,
    ) -> poem::Result<NoContent> {
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let o = lock(&app, &txn, &auth.0, id.0, Change::Contacts).await?;
        let links = opportunity_contact::Entity::find()
            .filter(opportunity_contact::Column::TenantId.eq(o.tenant_id))
            .filter(opportunity_contact::Column::OpportunityId.eq(o.id))
            .all(&txn)
            .await
            .map_err(Error::from)?;
        if !links.iter().any(|l| l.contact_id == body.contact_id) {
            return Err(Error::NotFound("linked contact").into());
        }
        if links.len() == 1 {
            return Err(Error::conflict(
                "last_contact",
                "an opportunity keeps at least one contact",
            )
            .into());
        }
        opportunity_contact::Entity::delete_by_id((o.tenant_id, o.id, body.contact_id))
            .exec(&txn)
            .await
            .map_err(Error::from)?;
        activity::record(
            &txn,
            o.tenant_id,
            Actor::User(&auth.0),
            app.clock.now(),
            "opportunity",
            o.id,
            "contact_unlinked",
            json!({"contact_id": body.contact_id}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(NoContent::NoContent)
    }

    /// A contact's opportunities
    ///
    /// Every opportunity of the contact the caller may see, open first, so a new lead can
    /// extend an existing file (seed 000).
    #[oai(path = "/contacts/:id/opportunities", method = "get")]
    async fn of_contact(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<OpportunityView>>> {
        let cx = app.authz.context(&auth.0, "contacts", Action::Read).await?;
        service::load_visible(&app, &app.db, &cx, id.0).await?;
        let ids: Vec<Uuid> = opportunity_contact::Entity::find()
            .filter(opportunity_contact::Column::TenantId.eq(auth.tenant_id()))
            .filter(opportunity_contact::Column::ContactId.eq(id.0))
            .all(&app.db)
            .await
            .map_err(Error::from)?
            .into_iter()
            .map(|l| l.opportunity_id)
            .collect();
        Ok(Json(List {
            items: visible_views(&app, &auth.0, ids).await?,
            next_cursor: None,
        }))
    }
}

/// The CRM's tenant settings.
pub struct CrmSettingsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Settings")]
impl CrmSettingsApi {
    /// The expiry rule
    ///
    /// `{period_days, exempt_statuses}`; defaults to 56 days and the statuses taken in
    /// charge, sold not delivered and long-term follow-up.
    #[oai(path = "/settings/expiry", method = "get")]
    async fn get_expiry(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
    ) -> poem::Result<Json<ExpirySettings>> {
        app.authz
            .require(&auth.0, "settings.expiry", Action::Read)
            .await?;
        Ok(Json(expiry::settings(&app.db, auth.tenant_id()).await?))
    }

    /// Change the expiry rule
    ///
    /// Needs `settings.expiry`/`write`. Applies at the next sweep and at lead intake.
    #[oai(path = "/settings/expiry", method = "put")]
    async fn put_expiry(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<ExpirySettings>,
    ) -> poem::Result<Json<ExpirySettings>> {
        app.authz
            .require(&auth.0, "settings.expiry", Action::Write)
            .await?;
        body.0.validate()?;
        let now = app.clock.now();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let before = expiry::settings(&txn, auth.tenant_id()).await?;
        expiry::save(&txn, auth.tenant_id(), &body.0, now).await?;
        activity::record(
            &txn,
            auth.tenant_id(),
            Actor::User(&auth.0),
            now,
            "settings",
            auth.tenant_id(),
            "expiry_changed",
            activity::diff(&json!(before), &json!(body.0)),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Json(body.0))
    }
}

/// Whether a lead source of the tenant has this id. No port names lead sources yet, so this
/// reads the sources crate's table by name until one does.
async fn lead_source_exists(
    conn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool> {
    let row = conn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT 1 AS one FROM lead_sources WHERE tenant_id = $1 AND id = $2",
            [tenant_id.into(), id.into()],
        ))
        .await?;
    Ok(row.is_some())
}
