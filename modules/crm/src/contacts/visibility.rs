//! Which contacts a caller sees. Every read of the contact table starts from [`scoped`],
//! which pins the tenant; visibility within the tenant follows the caller's grant scope and
//! the contact's sharing (seed 003: shared across the tenant's companies, or kept to one).

use crate::contacts::{
    entities::{contact, contact_group},
    read::{Full, Loaded, with_children},
};
use chrono::{DateTime, Utc};
use forecourt_core::{
    App, Error, Result,
    access::Scope,
    context::TenantUser,
    http::{Keyset, Page, PageRequest, SortField, count_if_asked},
    tenancy::{Cx, TenantScoped, Tenanted},
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, QueryFilter, QuerySelect, QueryTrait, Select, sea_query::Expr,
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

/// What a contact list keeps, besides the caller's reach. Every field is a query parameter of
/// `GET /contacts`; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Assigned to this team.
    pub team: Option<Uuid>,
    /// Assigned to this user.
    pub user: Option<Uuid>,
    /// Of this establishment.
    pub establishment: Option<Uuid>,
    /// Kept to this company.
    pub company: Option<Uuid>,
    /// `prospect` or `customer`.
    pub lifecycle: Option<String>,
    /// In this prospect status.
    pub prospect_status: Option<String>,
    /// Member of this group.
    pub group: Option<String>,
    /// Blocked or not.
    pub blocked: Option<bool>,
    /// Changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}

impl ContactFilter {
    /// `query` narrowed to the contacts this filter keeps.
    fn apply(&self, t: &impl Tenanted, query: Select<contact::Entity>) -> Select<contact::Entity> {
        use contact::Column as C;
        let group = self.group.as_ref().map(|g| {
            contact_group::Entity::scoped(t)
                .select_only()
                .column(contact_group::Column::ContactId)
                .filter(contact_group::Column::Name.eq(g.as_str()))
                .into_query()
        });
        query
            .apply_if(self.team, |q, v| q.filter(C::AssignedTeamId.eq(v)))
            .apply_if(self.user, |q, v| q.filter(C::AssignedUserId.eq(v)))
            .apply_if(self.establishment, |q, v| {
                q.filter(C::EstablishmentId.eq(v))
            })
            .apply_if(self.company, |q, v| q.filter(C::CompanyId.eq(v)))
            .apply_if(self.lifecycle.clone(), |q, v| q.filter(C::Lifecycle.eq(v)))
            .apply_if(self.prospect_status.clone(), |q, v| {
                q.filter(C::ProspectStatus.eq(v))
            })
            .apply_if(group, |q, v| q.filter(C::Id.in_subquery(v)))
            .apply_if(self.blocked, |q, v| q.filter(C::Blocked.eq(v)))
            .apply_if(self.updated_since, |q, v| q.filter(C::UpdatedAt.gte(v)))
    }
}

/// The orders a contact list offers besides creation order: creation, last change, and the
/// name shown (`display_name`), each with the id as tie-break.
fn sorts() -> [SortField<Full>; 3] {
    use contact::Column as C;
    [
        SortField::column("created_at", C::CreatedAt, |f| f.contact.created_at.into()),
        SortField::column("updated_at", C::UpdatedAt, |f| f.contact.updated_at.into()),
        SortField::column("name", C::DisplayName, |f| {
            f.contact.display_name.clone().into()
        }),
    ]
}

/// The page `req` asks of the contacts the caller of `cx` may see that `filter` keeps,
/// complete (children included) in one statement, with their total when asked. It pages
/// with the keyset of every list (`forecourt_core::http::Keyset`), around its own statement
/// because the children come as extra columns.
pub async fn visible_page(
    app: &App,
    conn: &impl Conn,
    cx: &Cx,
    req: &PageRequest,
    filter: &ContactFilter,
) -> Result<Page<Full>> {
    let sorts = sorts();
    let keyset = Keyset::new(req, &sorts, Expr::col(contact::Column::Id.as_column_ref()))?;
    let query = filter.apply(cx, scoped(cx).filter(visible_to(app, conn, cx).await?));
    let total = count_if_asked(conn, req, query.clone()).await?;
    let query = keyset.apply(query);
    let rows: Vec<Full> = with_children(query, cx, conn.get_database_backend())
        .into_model::<Loaded>()
        .all(conn)
        .await?
        .into_iter()
        .map(|Loaded(f)| f)
        .collect();
    let mut page = keyset.finish(rows, |f| f.contact.id);
    page.total = total;
    Ok(page)
}
