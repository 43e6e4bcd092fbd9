//! `/api/v1/statuses`: each tenant's statuses per entity, their order, the transitions
//! between them and the policy that enforces them.

use super::{
    service, transitions,
    validate::entity as parse_entity,
    views::{
        ArchiveInput, Archived, NewStatus, PolicyInput, PolicyResponse, StatusOrder, StatusPatch,
        StatusResponse, StatusView, TransitionInput, TransitionView,
    },
};
use forecourt_core::{
    App,
    access::Action,
    http::{Created, JsonBody, List, NoContent, TenantAuth},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, Tags,
    param::{Header, Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

/// The permission object of statuses, transitions and policies.
pub const OBJECT: &str = "settings.statuses";

#[derive(Tags)]
enum ApiTags {
    /// Each tenant's statuses of opportunities and prospects, and the moves between them
    /// (Expert).
    Statuses,
}

fn list_of(items: Vec<StatusView>) -> List<StatusView> {
    List {
        items,
        next_cursor: None,
        total: None,
    }
}

/// Statuses.
pub struct StatusesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Statuses")]
impl StatusesApi {
    /// List statuses
    ///
    /// The statuses of `entity` (`opportunity` or `prospect`) in order, archived ones
    /// included (with `archived_at`). Needs `settings.statuses`/`read` (every role has it).
    #[oai(path = "/statuses", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// `opportunity` or `prospect`.
        entity: Query<String>,
    ) -> poem::Result<Json<List<StatusView>>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let e = parse_entity(&entity.0)?;
        let items = service::of_entity(&app.db, &cx, e).await?;
        Ok(Json(list_of(items.into_iter().map(Into::into).collect())))
    }

    /// Create a status
    ///
    /// Last in the list of `entity`. Needs `settings.statuses`/`write`. 409 `duplicate_key`
    /// when the entity has a status with this key; 422 naming the field for a key that is not
    /// a slug, a missing label, a probability out of 0–100 (or not 100 for won, 0 for lost),
    /// a colour that is not `#rrggbb`.
    #[oai(path = "/statuses", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// `opportunity` or `prospect`.
        entity: Query<String>,
        body: JsonBody<NewStatus>,
    ) -> poem::Result<Created<StatusView>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let e = parse_entity(&entity.0)?;
        let m = service::create(&app, &cx, e, &body).await?;
        let version = m.version;
        Ok(Created::at(format!("/api/v1/statuses/{}", m.id), StatusView::from(m)).tagged(version))
    }

    /// Reorder statuses
    ///
    /// `ids` lists every status of `entity` (archived ones included) once, in the new order;
    /// answers the list. Needs `settings.statuses`/`write`.
    #[oai(path = "/statuses/order", method = "put")]
    async fn order(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// `opportunity` or `prospect`.
        entity: Query<String>,
        body: JsonBody<StatusOrder>,
    ) -> poem::Result<Json<List<StatusView>>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let e = parse_entity(&entity.0)?;
        let items = service::order(&app, &cx, e, &body.ids).await?;
        Ok(Json(list_of(items.into_iter().map(Into::into).collect())))
    }

    /// The transition policy
    ///
    /// `free` (any status to any other that is not archived) or `listed` (only the listed
    /// transitions), with the transitions listed from any open status. With its `ETag`.
    #[oai(path = "/statuses/policy", method = "get")]
    async fn policy(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// `opportunity` or `prospect`.
        entity: Query<String>,
    ) -> poem::Result<PolicyResponse> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        let e = parse_entity(&entity.0)?;
        Ok(transitions::policy(&app, &cx, e).await?.into())
    }

    /// Set the transition policy
    ///
    /// `mode`, and `from_any` (when given) replaces the transitions listed from any open
    /// status. Under `listed`, a move needs a transition listed from its status or, for an
    /// open status, from any; closing is final unless a transition out of the closed status
    /// is listed. Needs `settings.statuses`/`write`; 412 on a stale `If-Match`.
    #[oai(path = "/statuses/policy", method = "put")]
    async fn set_policy(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// `opportunity` or `prospect`.
        entity: Query<String>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<PolicyInput>,
    ) -> poem::Result<PolicyResponse> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let e = parse_entity(&entity.0)?;
        let v = transitions::set_policy(&app, &cx, e, if_match.0.as_deref(), &body).await?;
        Ok(v.into())
    }

    /// Get a status
    ///
    /// With its `ETag`: send it back as `If-Match` when changing it.
    #[oai(path = "/statuses/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The status.
        id: Path<Uuid>,
    ) -> poem::Result<StatusResponse> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        Ok(service::get(&app.db, &cx, id.0).await?.into())
    }

    /// Change a status
    ///
    /// Labels, kind, probability, colour, expiry exemption, initial, vehicle reservation;
    /// the `key` never changes (refused as an unknown field). Won sets the probability to
    /// 100, lost to 0; `initial: true` moves the initial flag here from the previous status
    /// (which must stay open). 412 on a stale `If-Match`. Needs `settings.statuses`/`write`.
    #[oai(path = "/statuses/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The status.
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<StatusPatch>,
    ) -> poem::Result<StatusResponse> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let m = service::patch(&app, &cx, id.0, if_match.0.as_deref(), &body).await?;
        Ok(m.into())
    }

    /// Delete a status
    ///
    /// Only a status no record ever had (none is in it and the status history never names
    /// it): otherwise 409 `status_has_history`, archive it instead. The initial status is
    /// 409 `status_initial`. Needs `settings.statuses`/`delete`.
    #[oai(path = "/statuses/:id", method = "delete")]
    async fn delete(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The status.
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Delete).await?;
        service::delete(&app, &cx, id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Archive a status
    ///
    /// No record moves into it any more. Records in it move to `reassign_to` (a status key)
    /// in the same transaction, each move in the record's history; a status in use without
    /// `reassign_to` is 409 `status_in_use` with `count`. The initial status is 409
    /// `status_initial`, an archived one 409 `status_archived`. Send `{}` when nothing is to
    /// move. Needs `settings.statuses`/`write`.
    #[oai(path = "/statuses/:id/archive", method = "post")]
    async fn archive(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The status.
        id: Path<Uuid>,
        body: JsonBody<ArchiveInput>,
    ) -> poem::Result<Json<Archived>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        let (m, reassigned) =
            service::archive(&app, &cx, id.0, body.reassign_to.as_deref()).await?;
        Ok(Json(Archived {
            status: m.into(),
            reassigned,
        }))
    }

    /// Transitions out of a status
    ///
    /// The transitions listed from this status (those from any open status are on the
    /// policy). They are enforced while the policy is `listed`.
    #[oai(path = "/statuses/:id/transitions", method = "get")]
    async fn transitions(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The status.
        id: Path<Uuid>,
    ) -> poem::Result<Json<Vec<TransitionView>>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Read).await?;
        Ok(Json(transitions::of_status(&app, &cx, id.0).await?))
    }

    /// Set the transitions out of a status
    ///
    /// Replaces them with the list: each `to` is the key of another status of the entity
    /// that is not archived, listed once; `requires_reason` (a move to a lost status always
    /// needs one), `required_fields` (fields of the record that must be set), `roles` (the
    /// roles that may take it; absent for anyone). 422 naming the entry (`[1].to`). Needs
    /// `settings.statuses`/`write`.
    #[oai(path = "/statuses/:id/transitions", method = "put")]
    async fn set_transitions(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        /// The status.
        id: Path<Uuid>,
        body: JsonBody<Vec<TransitionInput>>,
    ) -> poem::Result<Json<Vec<TransitionView>>> {
        let cx = app.authz.context(&auth.0, OBJECT, Action::Write).await?;
        Ok(Json(
            transitions::set_for_status(&app, &cx, id.0, &body).await?,
        ))
    }
}
