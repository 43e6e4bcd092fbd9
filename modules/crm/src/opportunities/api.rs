//! `/api/v1/opportunities`: leads linked to contacts, their status, assignment and the
//! system-owned `expired` flag (seed 004).

use crate::opportunities::{
    links,
    reads::{self, KindFilter},
    service, status,
    views::{
        Assignment, CreatedOpportunity, LinkedContact, LinkedContactView, NewOpportunity,
        OpportunityPatch, OpportunityResponse, OpportunityView, StatusChange, Unlink,
    },
};
use forecourt_core::{
    App,
    access::Action,
    http::{Created, JsonBody, List, NoContent, PageRequest, TenantAuth, instant_param},
    status_history::StatusChangeView,
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, Tags,
    param::{Header, Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

// The contacts' search reads these here; they are defined with the opportunities' reads.

#[derive(Tags)]
enum ApiTags {
    /// Sales opportunities (leads).
    Opportunities,
}

/// Opportunities.
pub struct OpportunitiesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Opportunities")]
impl OpportunitiesApi {
    /// List opportunities
    ///
    /// Within the caller's `opportunities`/`read` scope (own = assigned to them,
    /// establishment = of their site; both also reach what is assigned to a team of theirs),
    /// in creation order unless `sort` says otherwise, with cursor pagination. Every filter
    /// given must hold; an unknown parameter is refused (422 naming it).
    #[oai(path = "/opportunities", method = "get")]
    // Each query parameter is an argument of the handler: poem-openapi documents them so (it
    // has no query struct), and the handler gathers them into one filter at once.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// Only the opportunities in this status (a key, e.g. `new`).
        status: Query<Option<String>>,
        /// Only the opportunities whose status is of this kind: `open`, `won` or `lost`.
        kind: Query<Option<KindFilter>>,
        /// Only the opportunities assigned to this user.
        assigned_user_id: Query<Option<Uuid>>,
        /// Only the opportunities assigned to this team.
        assigned_team_id: Query<Option<Uuid>>,
        /// Only the opportunities of this establishment.
        establishment_id: Query<Option<Uuid>>,
        /// Only the opportunities from this lead source.
        source_id: Query<Option<Uuid>>,
        /// Only the opportunities linked to this contact.
        contact_id: Query<Option<Uuid>>,
        /// Only those created at or after this moment: an RFC 3339 date-time
        /// (`2026-03-31T14:30:00Z`) or a date (`2026-03-31`, its midnight UTC).
        created_after: Query<Option<String>>,
        /// Only those created before this moment (date-time or date, as `created_after`).
        created_before: Query<Option<String>>,
        /// Only those changed at or after this moment (date-time or date).
        updated_after: Query<Option<String>>,
        /// Only those changed before this moment (date-time or date).
        updated_before: Query<Option<String>>,
        /// Only expired ones (`true`) or only the others (`false`); for those who see the
        /// flag (`opportunities.expired`, admins), 422 for anyone else.
        expired: Query<Option<bool>>,
        /// The order: `created_at` or `updated_at`, `-` before it for descending
        /// (`-updated_at`); equal values keep creation order. Default: creation order.
        sort: Query<Option<String>>,
        /// `true` to receive the `total` of the filtered list (one more statement).
        count: Query<Option<bool>>,
        /// The `next_cursor` of the previous page (made for the same `sort`).
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<OpportunityView>>> {
        let instant = |field, v: Query<Option<String>>| instant_param(field, v.0.as_deref());
        let filter = reads::OpportunityFilter {
            status: status.0,
            kind: kind.0,
            user: assigned_user_id.0,
            team: assigned_team_id.0,
            establishment: establishment_id.0,
            source: source_id.0,
            contact: contact_id.0,
            created_after: instant("created_after", created_after)?,
            created_before: instant("created_before", created_before)?,
            updated_after: instant("updated_after", updated_after)?,
            updated_before: instant("updated_before", updated_before)?,
            expired: expired.0,
        };
        let req = PageRequest::new(cursor.0, limit.0, sort.0, count.0);
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        Ok(Json(reads::page(&app, &cx, &filter, &req).await?))
    }

    /// Create an opportunity
    ///
    /// Links at least one contact (blocked contacts: 422 `contact_blocked`; a contact the
    /// caller cannot see: 404). Answers 201 with the opportunity itself (as `GET` on its
    /// `Location` answers it, with its `ETag`) and, in `other_open_opportunities`, the
    /// contacts' other open opportunities, so the client can extend one rather than keep a
    /// duplicate.
    #[oai(path = "/opportunities", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewOpportunity>,
    ) -> poem::Result<Created<CreatedOpportunity>> {
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Write)
            .await?;
        let (o, contact_ids) = service::create(&app, &cx, body.0).await?;
        let id = o.id;
        let opportunity = reads::view(&app, &cx, o).await?;
        // The other opportunities are the ones the caller may read, not only write.
        let read = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        let others = reads::open_of_contacts(&app, &read, &contact_ids, id).await?;
        let version = opportunity.version;
        Ok(Created::at(
            format!("/api/v1/opportunities/{id}"),
            CreatedOpportunity {
                opportunity,
                other_open_opportunities: others,
            },
        )
        .tagged(version))
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
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        Ok(reads::view_of(&app, &cx, id.0).await?.into())
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
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<OpportunityPatch>,
    ) -> poem::Result<OpportunityResponse> {
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Write)
            .await?;
        let o = service::patch(&app, &cx, id.0, if_match.0.as_deref(), body.0).await?;
        Ok(reads::view(&app, &cx, o).await?.into())
    }

    /// Change the status
    ///
    /// The only way a status changes. Without the `statuses` module: any open status to any
    /// other; `won` and `lost` close it (`lost` needs a `reason`); a closed opportunity can
    /// only be reopened (a change back to an open status, which clears `closed_at` and the
    /// lost reason); closing it again is 409 `opportunity_closed`. With the module, the
    /// tenant's statuses and policy decide: 422 `unknown_status` (with `allowed`),
    /// `transition_not_allowed` (with `allowed`: the keys that may follow the current one),
    /// `reason_required`, `required_fields_missing` (with `fields`); leaving a closed status
    /// is 409 `opportunity_closed` unless the tenant lists that transition. Every change is in
    /// the status history.
    #[oai(path = "/opportunities/:id/status", method = "post")]
    async fn status(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<StatusChange>,
    ) -> poem::Result<Json<OpportunityView>> {
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Write)
            .await?;
        let o = status::change_status(&app, &cx, id.0, body.0).await?;
        Ok(Json(reads::view(&app, &cx, o).await?))
    }

    /// Status history
    ///
    /// Every status the opportunity was in, oldest first: who moved it, why, and how long it
    /// stayed in the status it left. Needs read access to the opportunity.
    #[oai(path = "/opportunities/:id/status-history", method = "get")]
    async fn status_history(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<StatusChangeView>>> {
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        let items = status::status_history(&app, &cx, id.0).await?;
        Ok(Json(List {
            items,
            next_cursor: None,
            total: None,
        }))
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
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Write)
            .await?;
        let o = service::assign(&app, &cx, id.0, body.0).await?;
        Ok(Json(reads::view(&app, &cx, o).await?))
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
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Write)
            .await?;
        let o = service::link(&app, &cx, id.0, body.0).await?;
        let view = reads::view(&app, &cx, o).await?;
        Ok(Created::at(
            format!("/api/v1/opportunities/{}", view.id),
            List::all(view.contacts),
        ))
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
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Write)
            .await?;
        service::unlink(&app, &cx, id.0, body.0.contact_id).await?;
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
        let contacts = app.authz.context(&auth.0, "contacts", Action::Read).await?;
        crate::contacts::service::load_visible(&app, &app.db, &contacts, id.0).await?;
        let cx = app
            .authz
            .context(&auth.0, "opportunities", Action::Read)
            .await?;
        let ids = links::ids_of_contacts(&app.db, &cx, &[id.0]).await?;
        Ok(Json(List {
            items: reads::visible_views(&app, &cx, ids).await?,
            next_cursor: None,
            total: None,
        }))
    }
}
