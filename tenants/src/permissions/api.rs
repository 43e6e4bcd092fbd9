//! The grants and roles endpoints: take the caller's context, call the service, answer.

use crate::{
    permissions::{
        service::{self, checked, known_roles},
        views::{GrantBody, ObjectView, RoleView},
    },
    tags::Tags,
};
use forecourt_core::{
    App,
    access::{Action, BUILTIN_ROLES},
    authz,
    http::{Created, JsonBody, List, NoContent, TenantAuth},
    tenancy::Tenanted,
};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use std::sync::Arc;

/// Grants and roles.
pub struct PermissionsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "Tags::Permissions")]
impl PermissionsApi {
    /// List grants
    ///
    /// The tenant's direct grants, optionally for one subject (`user:<id>` or `role:<name>`).
    /// A user's effective rights are their own grants plus those of their roles.
    #[oai(path = "/permissions", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        subject: Query<Option<String>>,
    ) -> poem::Result<Json<List<GrantBody>>> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Read)
            .await?;
        let items = authz::grants(&app.db, cx.tenant().uuid(), subject.0.as_deref()).await?;
        Ok(Json(List {
            items: items.into_iter().map(Into::into).collect(),
            next_cursor: None,
            total: None,
        }))
    }

    /// Grant a permission
    ///
    /// Gives a user or a role an action on an object at a scope. The caller must hold
    /// `permissions`/`write` and must themself hold what they grant, at least as widely.
    /// Applies at once on every node.
    #[oai(path = "/permissions", method = "post")]
    async fn grant(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<GrantBody>,
    ) -> poem::Result<Created<GrantBody>> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Write)
            .await?;
        let g = checked(&app, &cx, &body.0).await?;
        service::grant(&app, &cx, &g).await?;
        // A grant has no id of its own: it is found in the list it joined.
        Ok(Created::at("/api/v1/permissions", g.into()))
    }

    /// Revoke a permission
    ///
    /// Removes exactly the grant given in the body; 404 when there is no such grant.
    #[oai(path = "/permissions", method = "delete")]
    async fn revoke(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<GrantBody>,
    ) -> poem::Result<NoContent> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Write)
            .await?;
        let g = checked(&app, &cx, &body.0).await?;
        service::revoke(&app, &cx, &g).await?;
        Ok(NoContent::NoContent)
    }

    /// List roles
    ///
    /// The built-in roles (admin, manager, salesperson, receptionist) and the tenant's own.
    /// A custom role comes into being when it is first granted something.
    #[oai(path = "/roles", method = "get")]
    async fn roles(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
    ) -> poem::Result<Json<List<RoleView>>> {
        let cx = app
            .authz
            .context(&auth.0, "permissions", Action::Read)
            .await?;
        let items = known_roles(&app.db, cx.tenant().uuid())
            .await?
            .into_iter()
            .map(|name| RoleView {
                builtin: BUILTIN_ROLES.contains(&name.as_str()),
                name,
            })
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
            total: None,
        }))
    }

    /// List permission objects
    ///
    /// Every object that grants can name, with the module that defines it.
    #[oai(path = "/permissions/objects", method = "get")]
    async fn objects(
        &self,
        app: Data<&Arc<App>>,
        _auth: TenantAuth,
    ) -> poem::Result<Json<List<ObjectView>>> {
        let items = app
            .registry
            .modules()
            .flat_map(|m| {
                m.permission_objects().iter().map(move |o| ObjectView {
                    object: o.name.into(),
                    module: m.id().into(),
                    description: o.description.into(),
                })
            })
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
            total: None,
        }))
    }
}
