//! The teams endpoints: take the caller's context, call the service, answer.

use crate::{
    tags::Tags,
    teams::{
        service,
        views::{NewTeam, TeamPatch, TeamResponse, TeamView},
    },
};
use forecourt_core::{
    App,
    access::Action,
    http::{Created, JsonBody, List, NoContent, TenantAuth, page_limit, parse_cursor},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

/// Teams of the tenant's users.
pub struct TeamsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "Tags::Teams")]
impl TeamsApi {
    /// List teams
    ///
    /// The teams within the caller's `teams`/`read` scope (everyone reads all by default;
    /// establishment: the teams of the caller's establishment and their own; own: the
    /// caller's teams), oldest first, with their members.
    #[oai(path = "/teams", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<TeamView>>> {
        let cx = app.authz.context(&auth.0, "teams", Action::Read).await?;
        let limit = page_limit(limit.0);
        let rows = service::page(&app, &cx, parse_cursor(cursor.0.as_deref())?, limit + 1).await?;
        let items = rows.into_iter().map(|(t, m)| TeamView::of(t, m)).collect();
        Ok(Json(List::page(items, limit, |t: &TeamView| t.id)))
    }

    /// Create a team
    ///
    /// Needs `teams`/`write` (admins; managers for their own establishment's teams). The
    /// name is unique in the tenant (409 `team_name_taken`, naming `name`); the
    /// establishment, the leader and each member must be of the tenant (422 naming the field,
    /// e.g. `member_ids[2]`). The leader is always a member. The members reach the records
    /// assigned to the team at once.
    #[oai(path = "/teams", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewTeam>,
    ) -> poem::Result<Created<TeamView>> {
        let cx = app.authz.context(&auth.0, "teams", Action::Write).await?;
        let (t, m) = service::create(&app, &cx, body.0).await?;
        let v = TeamView::of(t, m);
        let version = v.version;
        Ok(Created::at(format!("/api/v1/teams/{}", v.id), v).tagged(version))
    }

    /// Get a team
    ///
    /// With its `ETag`: send it back as `If-Match` when changing the team. Another tenant's
    /// team answers 404.
    #[oai(path = "/teams/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<TeamResponse> {
        let cx = app.authz.context(&auth.0, "teams", Action::Read).await?;
        let (t, m) = service::get(&app, &cx, id.0).await?;
        Ok(TeamResponse::of(TeamView::of(t, m)))
    }

    /// Change a team
    ///
    /// Absent fields stay; `null` clears; `member_ids` replaces the members. With `If-Match`
    /// carrying a stale ETag the answer is 412 and nothing changes. A removed member loses
    /// the team's records at once, on every node.
    #[oai(path = "/teams/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<TeamPatch>,
    ) -> poem::Result<TeamResponse> {
        let cx = app.authz.context(&auth.0, "teams", Action::Write).await?;
        let (t, m) = service::patch(&app, &cx, id.0, if_match.0.as_deref(), body.0).await?;
        Ok(TeamResponse::of(TeamView::of(t, m)))
    }

    /// Delete a team
    ///
    /// Needs `teams`/`delete`. A team that contacts or opportunities are still assigned to is
    /// refused with 409 `team_in_use` and the counts per kind in `used_by`: assign them
    /// elsewhere first, so no record silently leaves its members' reach.
    #[oai(path = "/teams/:id", method = "delete")]
    async fn delete(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        let cx = app.authz.context(&auth.0, "teams", Action::Delete).await?;
        service::delete(&app, &cx, id.0).await?;
        Ok(NoContent::NoContent)
    }
}
