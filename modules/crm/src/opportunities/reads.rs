//! Reading opportunities as a caller sees them: the views, the opportunities of a contact or a
//! vehicle within the caller's reach.

use crate::opportunities::{
    entities::{opportunity, opportunity_contact, opportunity_vehicle},
    links::ids_of_contacts,
    service::{in_reach, statuses},
    views::OpportunityView,
};
use chrono::{DateTime, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::Action,
    context::TenantUser,
    http::{List, PageRequest, SortField, fetch_sorted},
    ports::statuses::StatusKind,
    tenancy::{Cx, TenantScoped},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, prelude::Expr,
};
use serde::Deserialize;
use uuid::Uuid;

/// The children of an opportunity row as JSON text, computed in the row's own statement, so a
/// record and its children cost one round trip. Positions travel along (the order is set in
/// Rust: one aggregate syntax for both backends); UUIDs are blobs on SQLite, hex there.
fn children_sql(backend: DbBackend) -> [&'static str; 2] {
    match backend {
        DbBackend::Postgres => [
            "(SELECT COALESCE(json_agg(json_build_object('c', l.contact_id, 'r', l.role, \
             'p', l.position)), '[]')::text FROM opportunity_contacts l \
             WHERE l.tenant_id = opportunities.tenant_id AND l.opportunity_id = opportunities.id)",
            "(SELECT COALESCE(json_agg(json_build_object('c', v.vehicle_id, 'p', v.position)), \
             '[]')::text FROM opportunity_vehicles v \
             WHERE v.tenant_id = opportunities.tenant_id AND v.opportunity_id = opportunities.id)",
        ],
        _ => [
            "(SELECT json_group_array(json_object('c', hex(l.contact_id), 'r', l.role, \
             'p', l.position)) FROM opportunity_contacts l \
             WHERE l.tenant_id = opportunities.tenant_id AND l.opportunity_id = opportunities.id)",
            "(SELECT json_group_array(json_object('c', hex(v.vehicle_id), 'p', v.position)) \
             FROM opportunity_vehicles v \
             WHERE v.tenant_id = opportunities.tenant_id AND v.opportunity_id = opportunities.id)",
        ],
    }
}

/// One child as aggregated by [`children_sql`].
#[derive(Deserialize)]
struct Child {
    c: String,
    #[serde(default)]
    r: Option<String>,
    p: i32,
}

/// The children in a JSON column of `row`, in their positions' order.
fn children_of(row: &sea_orm::QueryResult, column: &str) -> std::result::Result<Vec<Child>, DbErr> {
    let text: String = row.try_get("", column)?;
    let mut all: Vec<Child> =
        serde_json::from_str(&text).map_err(|e| DbErr::Type(format!("{column}: {e}")))?;
    all.sort_by_key(|c| c.p);
    Ok(all)
}

fn uuid_of(c: &Child) -> std::result::Result<Uuid, DbErr> {
    Uuid::parse_str(&c.c).map_err(|e| DbErr::Type(format!("child id {}: {e}", c.c)))
}

/// The opportunities `q` selects, each with its contact links and vehicles of interest, in
/// one statement.
pub(crate) async fn with_children(
    db: &impl ConnectionTrait,
    q: Select<opportunity::Entity>,
) -> Result<
    Vec<(
        opportunity::Model,
        Vec<opportunity_contact::Model>,
        Vec<opportunity_vehicle::Model>,
    )>,
> {
    let backend = db.get_database_backend();
    let [contacts, vehicles] = children_sql(backend);
    let stmt = q
        .column_as(Expr::cust(contacts), "children_contacts")
        .column_as(Expr::cust(vehicles), "children_vehicles")
        .build(backend);
    let mut out = Vec::new();
    for row in db.query_all_raw(stmt).await? {
        let o = opportunity::Model::from_query_result(&row, "")?;
        let links = children_of(&row, "children_contacts")?
            .iter()
            .map(|c| {
                Ok(opportunity_contact::Model {
                    tenant_id: o.tenant_id,
                    opportunity_id: o.id,
                    contact_id: uuid_of(c)?,
                    role: c.r.clone(),
                    position: c.p,
                })
            })
            .collect::<std::result::Result<Vec<_>, DbErr>>()?;
        let vehicles = children_of(&row, "children_vehicles")?
            .iter()
            .map(|c| {
                Ok(opportunity_vehicle::Model {
                    tenant_id: o.tenant_id,
                    opportunity_id: o.id,
                    vehicle_id: uuid_of(c)?,
                    position: c.p,
                })
            })
            .collect::<std::result::Result<Vec<_>, DbErr>>()?;
        out.push((o, links, vehicles));
    }
    Ok(out)
}

/// Whether the caller of `cx` sees the system's `expired` flag.
async fn shows_expired(app: &App, cx: &Cx) -> Result<bool> {
    Ok(app
        .authz
        .scope(cx.user(), "opportunities.expired", Action::Read)
        .await?
        .is_some())
}

/// The views of what `q` selects, with their children, in one statement.
async fn views_of(
    app: &App,
    cx: &Cx,
    q: Select<opportunity::Entity>,
) -> Result<Vec<OpportunityView>> {
    let show_expired = shows_expired(app, cx).await?;
    let statuses = statuses(app, (&app.db).into(), cx).await?;
    Ok(with_children(&app.db, q)
        .await?
        .into_iter()
        .map(|(o, links, vehicles)| {
            let closed = statuses.kind(&o.status).is_closed();
            OpportunityView::of(o, &links, &vehicles, closed, show_expired)
        })
        .collect())
}

/// The view of the opportunity `id` the caller of `cx` reaches (404 otherwise), read with its
/// children in one statement and without a transaction.
pub(crate) async fn view_of(app: &App, cx: &Cx, id: Uuid) -> Result<OpportunityView> {
    views_of(app, cx, in_reach(cx).filter(opportunity::Column::Id.eq(id)))
        .await?
        .pop()
        .ok_or(Error::NotFound("opportunity"))
}

/// The views of `rows` as the caller of `cx` sees them.
pub(crate) async fn views(
    app: &App,
    cx: &Cx,
    rows: Vec<opportunity::Model>,
) -> Result<Vec<OpportunityView>> {
    let show_expired = shows_expired(app, cx).await?;
    let statuses = statuses(app, (&app.db).into(), cx).await?;
    let ids: Vec<Uuid> = rows.iter().map(|o| o.id).collect();
    let links = opportunity_contact::Entity::scoped(cx)
        .filter(opportunity_contact::Column::OpportunityId.is_in(ids.clone()))
        .order_by_asc(opportunity_contact::Column::Position)
        .all(&app.db)
        .await?;
    let vehicles = opportunity_vehicle::Entity::scoped(cx)
        .filter(opportunity_vehicle::Column::OpportunityId.is_in(ids))
        .order_by_asc(opportunity_vehicle::Column::Position)
        .all(&app.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|o| {
            let closed = statuses.kind(&o.status).is_closed();
            OpportunityView::of(o, &links, &vehicles, closed, show_expired)
        })
        .collect())
}

/// Open, won or lost: the kind of an opportunity's status, whatever the tenant calls it.
#[derive(poem_openapi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum KindFilter {
    /// Still being worked on.
    Open,
    /// Closed, sold.
    Won,
    /// Closed, not sold.
    Lost,
}

/// What an opportunity list keeps, besides the caller's reach. Every field is a query
/// parameter of `GET /opportunities`; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpportunityFilter {
    /// In this status (a key).
    pub status: Option<String>,
    /// In a status of this kind.
    pub kind: Option<KindFilter>,
    /// Assigned to this user.
    pub user: Option<Uuid>,
    /// Assigned to this team.
    pub team: Option<Uuid>,
    /// Of this establishment.
    pub establishment: Option<Uuid>,
    /// From this lead source.
    pub source: Option<Uuid>,
    /// Linked to this contact.
    pub contact: Option<Uuid>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// Changed at or after.
    pub updated_after: Option<DateTime<Utc>>,
    /// Changed before.
    pub updated_before: Option<DateTime<Utc>>,
    /// Expired or not (only for who sees the flag).
    pub expired: Option<bool>,
}

impl OpportunityFilter {
    /// `q` narrowed to what this filter keeps. `expired` needs the right to see the flag
    /// (`opportunities.expired`): a caller without it cannot learn it through a filter (422).
    async fn apply(
        &self,
        app: &App,
        cx: &Cx,
        q: Select<opportunity::Entity>,
    ) -> Result<Select<opportunity::Entity>> {
        use opportunity::Column as C;
        if self.expired.is_some() && !shows_expired(app, cx).await? {
            return Err(Error::invalid(
                "expired",
                msg!("only those who may see the expired flag can filter by it"),
            ));
        }
        let kind = match self.kind {
            None => None,
            Some(kind) => {
                let set = statuses(app, (&app.db).into(), cx).await?;
                let keys = |k| set.keys_of(k);
                // Open is every status that is not closed, as `StatusSet::kind` reads it.
                Some(match kind {
                    KindFilter::Open => C::Status
                        .is_not_in([keys(StatusKind::Won), keys(StatusKind::Lost)].concat()),
                    KindFilter::Won => C::Status.is_in(keys(StatusKind::Won)),
                    KindFilter::Lost => C::Status.is_in(keys(StatusKind::Lost)),
                })
            }
        };
        let contact = self.contact.map(|c| {
            opportunity_contact::Entity::scoped(cx)
                .select_only()
                .column(opportunity_contact::Column::OpportunityId)
                .filter(opportunity_contact::Column::ContactId.eq(c))
                .into_query()
        });
        Ok(
            q.apply_if(self.status.clone(), |q, v| q.filter(C::Status.eq(v)))
                .apply_if(kind, |q, v| q.filter(v))
                .apply_if(self.user, |q, v| q.filter(C::AssignedUserId.eq(v)))
                .apply_if(self.team, |q, v| q.filter(C::AssignedTeamId.eq(v)))
                .apply_if(self.establishment, |q, v| {
                    q.filter(C::EstablishmentId.eq(v))
                })
                .apply_if(self.source, |q, v| q.filter(C::SourceId.eq(v)))
                .apply_if(contact, |q, v| q.filter(C::Id.in_subquery(v)))
                .apply_if(self.created_after, |q, v| q.filter(C::CreatedAt.gte(v)))
                .apply_if(self.created_before, |q, v| q.filter(C::CreatedAt.lt(v)))
                .apply_if(self.updated_after, |q, v| q.filter(C::UpdatedAt.gte(v)))
                .apply_if(self.updated_before, |q, v| q.filter(C::UpdatedAt.lt(v)))
                .apply_if(self.expired, |q, v| q.filter(C::Expired.eq(v))),
        )
    }
}

/// The orders an opportunity list offers besides creation order, each with the id as
/// tie-break.
fn sorts() -> [SortField<opportunity::Model>; 2] {
    use opportunity::Column as C;
    [
        SortField::column("created_at", C::CreatedAt, |o| o.created_at.into()),
        SortField::column("updated_at", C::UpdatedAt, |o| o.updated_at.into()),
    ]
}

/// The page `req` asks of the opportunities the caller of `cx` reaches that `filter` keeps.
pub(crate) async fn page(
    app: &App,
    cx: &Cx,
    filter: &OpportunityFilter,
    req: &PageRequest,
) -> Result<List<OpportunityView>> {
    let q = filter.apply(app, cx, in_reach(cx)).await?;
    let page = fetch_sorted(&app.db, q, opportunity::Column::Id, &sorts(), req).await?;
    let total = page.total;
    let items = views(app, cx, page.rows).await?;
    Ok(List {
        items,
        next_cursor: page.next_cursor,
        total,
    })
}

/// The view of one opportunity.
pub(crate) async fn view(app: &App, cx: &Cx, o: opportunity::Model) -> Result<OpportunityView> {
    views(app, cx, vec![o])
        .await?
        .pop()
        .ok_or(Error::NotFound("opportunity"))
}

/// The opportunities among `ids` the caller of `cx` (a read context of `opportunities`)
/// reaches, open first, newest first.
pub(crate) async fn visible_views(
    app: &App,
    cx: &Cx,
    ids: Vec<Uuid>,
) -> Result<Vec<OpportunityView>> {
    let mut all = views_of(
        app,
        cx,
        in_reach(cx).filter(opportunity::Column::Id.is_in(ids)),
    )
    .await?;
    all.sort_by_key(|o| (o.closed, std::cmp::Reverse(o.created_at)));
    Ok(all)
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
    let cx = app
        .authz
        .context(user, "opportunities", Action::Read)
        .await?;
    let ids = ids_of_contacts(&app.db, &cx, contact_ids).await?;
    let mut all = visible_views(app, &cx, ids).await?;
    all.truncate(limit as usize);
    Ok(all)
}

/// The open opportunities of these contacts the caller reaches, but `except`.
pub(crate) async fn open_of_contacts(
    app: &App,
    cx: &Cx,
    contact_ids: &[Uuid],
    except: Uuid,
) -> Result<Vec<OpportunityView>> {
    let ids: Vec<Uuid> = ids_of_contacts(&app.db, cx, contact_ids)
        .await?
        .into_iter()
        .filter(|id| *id != except)
        .collect();
    let all = visible_views(app, cx, ids).await?;
    Ok(all.into_iter().filter(|o| !o.closed).collect())
}
