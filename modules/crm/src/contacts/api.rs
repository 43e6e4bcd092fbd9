//! `/api/v1/contacts`: each handler takes the caller's context, calls the service and answers
//! with a view.

pub use crate::contacts::views::str_of;
use crate::{
    contacts::{
        service::{self, Full},
        status,
        views::{
            ContactBody, ContactPatch, ContactResponse, ContactView, DuplicateView, Lifecycle,
            MergeBody, view,
        },
    },
    search::service::search_contacts_in,
};
use forecourt_core::msg;
use forecourt_core::{
    App, Result,
    access::Action,
    http::{Created, JsonBody, List, NoContent, PageRequest, TenantAuth, instant_param},
    status_history::{StatusChange, StatusChangeView},
    tenancy::Cx,
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, Tags,
    param::{Header, Path, Query},
    payload::Json,
};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Tags)]
enum ApiTags {
    /// People and companies the dealer works with.
    Contacts,
}

/// A single contact as answered: with the extensions of the tenant's modules, and its version.
async fn viewed(app: &App, cx: &Cx, full: Full) -> Result<(ContactView, i32)> {
    let (id, version) = (full.contact.id, full.contact.version);
    let ext = service::extensions(app, cx, id).await?;
    Ok((view(full, app.clock.now().date_naive(), ext), version))
}

/// [`viewed`] with its ETag.
async fn answer(app: &App, cx: &Cx, full: Full) -> Result<ContactResponse> {
    let (body, version) = viewed(app, cx, full).await?;
    Ok(ContactResponse::Ok(
        Json(body),
        forecourt_core::http::etag(version),
    ))
}

/// Contacts.
pub struct ContactsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Contacts")]
impl ContactsApi {
    /// List or search contacts
    ///
    /// Without `q`: the contacts within the caller's `contacts`/`read` scope, in creation
    /// order unless `sort` says otherwise, with cursor pagination; every filter given must
    /// hold, an unknown parameter is refused (422 naming it). With `q`: accent- and
    /// case-insensitive prefix search on names, company names, emails, phones in any format
    /// (`0470 12 34 56` finds `+32470123456`), national and VAT numbers, best matches first
    /// (at most `limit`, no cursor); only `assigned_team_id` narrows a search, the other
    /// filters, `sort` and `count` are refused with it (422 naming them).
    #[oai(path = "/contacts", method = "get")]
    // Each query parameter is an argument of the handler: poem-openapi documents them so (it
    // has no query struct), and the handler gathers them into one filter at once.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// Search words (see above); without it the list is filtered and sorted.
        q: Query<Option<String>>,
        /// Only the contacts assigned to this team.
        assigned_team_id: Query<Option<Uuid>>,
        /// Only the contacts assigned to this user.
        assigned_user_id: Query<Option<Uuid>>,
        /// Only the contacts of this establishment.
        establishment_id: Query<Option<Uuid>>,
        /// Only the contacts kept to this company (not those shared by all companies).
        company_id: Query<Option<Uuid>>,
        /// Only prospects or only customers.
        lifecycle: Query<Option<Lifecycle>>,
        /// Only the prospects in this prospect status (a key).
        prospect_status: Query<Option<String>>,
        /// Only the members of this group (its exact name).
        group: Query<Option<String>>,
        /// Only blocked contacts (`true`) or only the others (`false`).
        blocked: Query<Option<bool>>,
        /// Only the contacts changed at or after this moment: an RFC 3339 date-time
        /// (`2026-03-31T14:30:00Z`) or a date (`2026-03-31`, from its midnight UTC).
        updated_since: Query<Option<String>>,
        /// The order: `created_at`, `updated_at` or `name` (the name shown), `-` before it
        /// for descending (`-updated_at`); equal values keep creation order. Default:
        /// creation order.
        sort: Query<Option<String>>,
        /// `true` to receive the `total` of the filtered list (one more statement).
        count: Query<Option<bool>>,
        /// The `next_cursor` of the previous page (made for the same `sort`).
        cursor: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<ContactView>>> {
        let filter = service::ContactFilter {
            team: assigned_team_id.0,
            user: assigned_user_id.0,
            establishment: establishment_id.0,
            company: company_id.0,
            lifecycle: lifecycle.0.map(str_of),
            prospect_status: prospect_status.0,
            group: group.0,
            blocked: blocked.0,
            updated_since: instant_param("updated_since", updated_since.0.as_deref())?,
        };
        let req = PageRequest::new(cursor.0, limit.0, sort.0, count.0);
        let cx = app.authz.context(&auth.0, "contacts", Action::Read).await?;
        let today = app.clock.now().date_naive();
        if let Some(q) = q.0.as_deref().filter(|q| !q.trim().is_empty()) {
            let f = &filter;
            for (field, given) in [
                ("assigned_user_id", f.user.is_some()),
                ("establishment_id", f.establishment.is_some()),
                ("company_id", f.company.is_some()),
                ("lifecycle", f.lifecycle.is_some()),
                ("prospect_status", f.prospect_status.is_some()),
                ("group", f.group.is_some()),
                ("blocked", f.blocked.is_some()),
                ("updated_since", f.updated_since.is_some()),
                ("sort", req.sort.is_some()),
                ("count", req.count),
            ] {
                if given {
                    return Err(forecourt_core::Error::invalid(
                        field,
                        msg!("a search (`q`) ranks every match: list without `q` to use it"),
                    )
                    .into());
                }
            }
            let limit = forecourt_core::http::page_limit(req.limit);
            let items = search_contacts_in(&app, &cx, q, limit, filter.team).await?;
            return Ok(Json(List::all(
                items
                    .into_iter()
                    .map(|f| view(f, today, json!({})))
                    .collect(),
            )));
        }
        let page = service::visible_page(&app, &app.db, &cx, &req, &filter).await?;
        Ok(Json(page.map(|f| view(f, today, json!({})))))
    }

    /// Create a contact
    ///
    /// Needs `contacts`/`write`, and `contacts.blocked`/`write` to create it blocked. At
    /// least one email or phone (422 `contact_unreachable`); every field is validated and a
    /// 422 names the offending one. Search it first (`GET /contacts?q=`) to avoid duplicates.
    #[oai(path = "/contacts", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<ContactBody>,
    ) -> poem::Result<Created<ContactView>> {
        let cx = app
            .authz
            .context(&auth.0, "contacts", Action::Write)
            .await?;
        let full = service::create(&app, &cx, body.0).await?;
        let (body, version) = viewed(&app, &cx, full).await?;
        Ok(Created::at(format!("/api/v1/contacts/{}", body.id), body).tagged(version))
    }

    /// Get a contact
    ///
    /// With its `ETag` (send it back as `If-Match` when changing the contact) and the
    /// extensions of the tenant's enabled modules.
    #[oai(path = "/contacts/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<ContactResponse> {
        let cx = app.authz.context(&auth.0, "contacts", Action::Read).await?;
        let full = service::load_visible(&app, &app.db, &cx, id.0).await?;
        Ok(answer(&app, &cx, full).await?)
    }

    /// Change a contact
    ///
    /// Absent fields stay; `null` clears. With `If-Match` carrying a stale ETag the answer is
    /// 412 and nothing changes. Server-owned fields (id, stamps, age, version) are refused.
    /// Changing `blocked` needs `contacts.blocked`/`write` (admins by default): 403 otherwise.
    #[oai(path = "/contacts/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<ContactPatch>,
    ) -> poem::Result<ContactResponse> {
        let cx = app
            .authz
            .context(&auth.0, "contacts", Action::Write)
            .await?;
        let full = service::update(&app, &cx, id.0, if_match.0.as_deref(), body.0).await?;
        Ok(answer(&app, &cx, full).await?)
    }

    /// Delete a contact
    ///
    /// Needs `contacts`/`delete`. Its employees keep existing without an employer.
    #[oai(path = "/contacts/:id", method = "delete")]
    async fn delete(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        let cx = app
            .authz
            .context(&auth.0, "contacts", Action::Delete)
            .await?;
        service::delete(&app, &cx, id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Convert a prospect to a customer
    ///
    /// The prospect's move to the tenant's first won prospect status (`converted` by
    /// default), under the same rules as `POST /contacts/{id}/status`; in the status history
    /// and the activity log, with a `ContactConverted` event in the same transaction. 409
    /// `already_customer` when it is one.
    #[oai(path = "/contacts/:id/convert", method = "post")]
    async fn convert(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<ContactResponse> {
        let cx = app
            .authz
            .context(&auth.0, "contacts", Action::Write)
            .await?;
        let full = service::convert(&app, &cx, id.0).await?;
        Ok(answer(&app, &cx, full).await?)
    }

    /// Change a prospect's status
    ///
    /// Under the tenant's rules for prospect statuses (the `statuses` module's policy, else
    /// any status to any other): 422 `unknown_status` or `transition_not_allowed` (with
    /// `allowed`), `reason_required`, `required_fields_missing` (with `fields`). A move to a
    /// won status (`converted` by default) makes the prospect a customer, like `convert`. 409
    /// `already_customer` for a customer. Needs `contacts`/`write` on the contact.
    #[oai(path = "/contacts/:id/status", method = "post")]
    async fn status(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<StatusChange>,
    ) -> poem::Result<ContactResponse> {
        let cx = app
            .authz
            .context(&auth.0, "contacts", Action::Write)
            .await?;
        let full = status::move_status(&app, &cx, id.0, body.0).await?;
        Ok(answer(&app, &cx, full).await?)
    }

    /// Prospect status history
    ///
    /// Every prospect status the contact was in, oldest first, with who moved it, why and how
    /// long it stayed.
    #[oai(path = "/contacts/:id/status-history", method = "get")]
    async fn status_history(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<StatusChangeView>>> {
        let cx = app.authz.context(&auth.0, "contacts", Action::Read).await?;
        let items = status::history(&app, &cx, id.0).await?;
        Ok(Json(List {
            items,
            next_cursor: None,
            total: None,
        }))
    }

    /// Likely duplicates
    ///
    /// Contacts sharing an email, a phone, a national or VAT number, or the whole name, each
    /// with its reasons, most reasons first. Only contacts the caller may see are listed.
    #[oai(path = "/contacts/:id/duplicates", method = "get")]
    async fn duplicates(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<List<DuplicateView>>> {
        let cx = app.authz.context(&auth.0, "contacts", Action::Read).await?;
        let today = app.clock.now().date_naive();
        let items = service::duplicates_of(&app, &cx, id.0)
            .await?
            .into_iter()
            .map(|(f, reasons)| DuplicateView {
                contact: view(f, today, json!({})),
                reasons,
            })
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
            total: None,
        }))
    }

    /// Merge duplicates into this contact
    ///
    /// In one transaction: the duplicates' emails, phones, groups and addresses move here,
    /// empty fields are filled from them, every module moves its records (consents,
    /// categories, opportunities), both sides' activity logs record the merge, and
    /// the duplicates answer 404 afterwards. Needs `contacts`/`write` on this contact and
    /// `contacts`/`delete` on the duplicates. A block is kept: the result is blocked when any
    /// of them was, so a merge never unblocks (that needs `contacts.blocked`).
    #[oai(path = "/contacts/:id/merge", method = "post")]
    async fn merge(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<MergeBody>,
    ) -> poem::Result<ContactResponse> {
        let cx = app
            .authz
            .context(&auth.0, "contacts", Action::Write)
            .await?;
        let deleter = app
            .authz
            .context(&auth.0, "contacts", Action::Delete)
            .await?;
        let full = service::merge(&app, &cx, &deleter, id.0, &body.duplicates).await?;
        Ok(answer(&app, &cx, full).await?)
    }
}
