//! Reading opportunities as a caller sees them: the views, the opportunities of a contact or a
//! vehicle within the caller's reach.

use crate::opportunities::{
    entities::{opportunity, opportunity_contact, opportunity_vehicle},
    links::ids_of_contacts,
    service::{in_reach, statuses},
    views::OpportunityView,
};
use forecourt_core::{
    App, Error, Result,
    access::Action,
    context::TenantUser,
    http::{List, fetch_page},
    tenancy::{Cx, TenantScoped},
};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// The views of `rows` as the caller of `cx` sees them.
pub(crate) async fn views(
    app: &App,
    cx: &Cx,
    rows: Vec<opportunity::Model>,
) -> Result<Vec<OpportunityView>> {
    let show_expired = app
        .authz
        .scope(cx.user(), "opportunities.expired", Action::Read)
        .await?
        .is_some();
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

/// A page of the opportunities the caller of `cx` reaches, in `status` when given.
pub(crate) async fn page(
    app: &App,
    cx: &Cx,
    status: Option<String>,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<List<OpportunityView>> {
    let mut q = in_reach(cx);
    if let Some(s) = status {
        q = q.filter(opportunity::Column::Status.eq(s));
    }
    let page = fetch_page(&app.db, q, opportunity::Column::Id, cursor, limit).await?;
    let items = views(app, cx, page.rows).await?;
    Ok(List {
        items,
        next_cursor: page.next_cursor,
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
    let statuses = statuses(app, (&app.db).into(), cx).await?;
    let mut rows = in_reach(cx)
        .filter(opportunity::Column::Id.is_in(ids))
        .all(&app.db)
        .await?;
    rows.sort_by_key(|o| {
        (
            statuses.kind(&o.status).is_closed(),
            std::cmp::Reverse(o.created_at),
        )
    });
    views(app, cx, rows).await
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
