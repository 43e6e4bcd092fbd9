//! Which contacts a caller sees. Every read of the contact table starts from [`scoped`],
//! which pins the tenant; visibility within the tenant follows the caller's grant scope and
//! the contact's sharing (seed 003: shared across the tenant's companies, or kept to one).

use crate::contacts::{
    entities::contact,
    read::{Full, Loaded, with_children},
};
use forecourt_core::{
    App, Error, Result,
    access::Scope,
    context::TenantUser,
    http::{Page, page_limit, parse_cursor},
    tenancy::{Cx, TenantScoped, Tenanted},
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

/// A connection or a transaction that both runs statements and is handed to the ports (which
/// take a [`DatabaseExecutor`]), so callers pass `&app.db` or `&txn` as before.
pub trait Conn: ConnectionTrait + Sync {
    /// The same connection, as the ports take it.
    fn executor(&self) -> DatabaseExecutor<'_>;
}

impl Conn for DatabaseConnection {
    fn executor(&self) -> DatabaseExecutor<'_> {
        self.into()
    }
}

impl Conn for DatabaseTransaction {
    fn executor(&self) -> DatabaseExecutor<'_> {
        self.into()
    }
}

/// Contacts of one tenant.
pub fn scoped(t: &impl Tenanted) -> Select<contact::Entity> {
    contact::Entity::scoped(t)
}

/// The company of the user's establishment, which decides which contacts kept to one company
/// the user sees below tenant scope; at tenant scope it decides nothing and is not looked up.
pub async fn user_company(
    app: &App,
    conn: &impl Conn,
    user: &TenantUser,
    scope: Scope,
) -> Result<Option<Uuid>> {
    let Some(est) = user.establishment_id.filter(|_| scope != Scope::Tenant) else {
        return Ok(None);
    };
    // The tenant's facts are kept in process and list their sites' companies: no statement.
    if let Some(info) = app.ports.directory.tenant_info(app, user.tenant_id).await?
        && let Some(company) = info.company_of(est)
    {
        return Ok(Some(company));
    }
    app.ports
        .directory
        .company_of(conn.executor(), user.tenant(), est)
        .await
}

/// The contacts a caller may see at `scope`: own = assigned to them or to a team of theirs;
/// establishment = of their establishment (or their own); tenant = all, whatever company they
/// are kept to. Below tenant scope, contacts kept to one company are seen only from that
/// company's establishments; a user attached to no establishment reaches only the shared
/// contacts that are their own: having no establishment never widens the view.
pub fn visibility(user: &TenantUser, scope: Scope, company: Option<Uuid>) -> Condition {
    let own = own(user);
    let reach = match scope {
        Scope::Tenant => return Condition::all(),
        Scope::Establishment => match user.establishment_id {
            Some(e) => Condition::any()
                .add(contact::Column::EstablishmentId.eq(e))
                .add(own),
            None => own,
        },
        Scope::Own => own,
    };
    // Without an establishment there is no company to share with: only shared contacts.
    let sharing = match (user.establishment_id, company) {
        (Some(_), Some(c)) => Condition::any()
            .add(contact::Column::CompanyId.is_null())
            .add(contact::Column::CompanyId.eq(c)),
        _ => Condition::all().add(contact::Column::CompanyId.is_null()),
    };
    Condition::all().add(reach).add(sharing)
}

/// The contacts that are `user`'s own: assigned to them, or to one of their teams (the
/// principal carries the teams, so this costs no statement).
fn own(user: &TenantUser) -> Condition {
    let mut own = Condition::any().add(contact::Column::AssignedUserId.eq(user.user_id));
    if !user.team_ids.is_empty() {
        own = own.add(contact::Column::AssignedTeamId.is_in(user.team_ids.clone()));
    }
    own
}

/// The contacts the caller of `cx` may see at the scope of its grant (see [`visibility`]).
pub async fn visible_to(app: &App, conn: &impl Conn, cx: &Cx) -> Result<Condition> {
    let company = user_company(app, conn, cx.user(), cx.scope()).await?;
    Ok(visibility(cx.user(), cx.scope(), company))
}

/// A contact visible to the caller of `cx`, or 404 (missing, another tenant's, or out of
/// reach): the row, its children and the visibility check in one statement.
pub async fn load_visible(app: &App, conn: &impl Conn, cx: &Cx, id: Uuid) -> Result<Full> {
    let query = scoped(cx)
        .filter(contact::Column::Id.eq(id))
        .filter(visible_to(app, conn, cx).await?);
    with_children(query, cx, conn.get_database_backend())
        .into_model::<Loaded>()
        .one(conn)
        .await?
        .map(|Loaded(f)| f)
        .ok_or(Error::NotFound("contact"))
}

/// The contact row if the caller of `cx` may see it (tenant, visibility and company sharing).
pub async fn find_visible(
    app: &App,
    conn: &impl Conn,
    cx: &Cx,
    id: Uuid,
) -> Result<Option<contact::Model>> {
    Ok(scoped(cx)
        .filter(contact::Column::Id.eq(id))
        .filter(visible_to(app, conn, cx).await?)
        .one(conn)
        .await?)
}

/// The contacts `ids` of the tenant, complete, in the order of `ids` (missing ones skipped),
/// in one statement.
pub async fn load_in_order(
    conn: &impl ConnectionTrait,
    t: &impl Tenanted,
    ids: &[Uuid],
) -> Result<Vec<Full>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let query = scoped(t).filter(contact::Column::Id.is_in(ids.to_vec()));
    let mut full: Vec<Full> = with_children(query, t, conn.get_database_backend())
        .into_model::<Loaded>()
        .all(conn)
        .await?
        .into_iter()
        .map(|Loaded(f)| f)
        .collect();
    full.sort_by_key(|f| ids.iter().position(|i| *i == f.contact.id));
    Ok(full)
}

/// The page after `cursor` of the contacts the caller of `cx` may see (assigned to `team`
/// when given), oldest first, complete,
/// in one statement. It pages as `forecourt_core::http::fetch_page` does (same cursor and
/// limit), which cannot be used here: it answers bare rows, without the children's columns.
/// What a contact list keeps, besides the caller's reach.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Assigned to this team.
    pub team: Option<Uuid>,
    /// `prospect` or `customer`.
    pub lifecycle: Option<String>,
    /// In this prospect status.
    pub prospect_status: Option<String>,
}

pub async fn visible_page(
    app: &App,
    conn: &impl Conn,
    cx: &Cx,
    cursor: Option<&str>,
    limit: Option<u64>,
    filter: &ContactFilter,
) -> Result<Page<Full>> {
    let limit = page_limit(limit);
    let mut query = scoped(cx).filter(visible_to(app, conn, cx).await?);
    if let Some(t) = filter.team {
        query = query.filter(contact::Column::AssignedTeamId.eq(t));
    }
    if let Some(l) = &filter.lifecycle {
        query = query.filter(contact::Column::Lifecycle.eq(l.as_str()));
    }
    if let Some(s) = &filter.prospect_status {
        query = query.filter(contact::Column::ProspectStatus.eq(s.as_str()));
    }
    if let Some(after) = parse_cursor(cursor)? {
        query = query.filter(contact::Column::Id.gt(after));
    }
    let query = query.order_by_asc(contact::Column::Id).limit(limit + 1);
    let mut rows: Vec<Full> = with_children(query, cx, conn.get_database_backend())
        .into_model::<Loaded>()
        .all(conn)
        .await?
        .into_iter()
        .map(|Loaded(f)| f)
        .collect();
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(last.contact.id.to_string()),
        _ => None,
    };
    Ok(Page { rows, next_cursor })
}
