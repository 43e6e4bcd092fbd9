//! The users and API keys endpoints: take the caller's context, call the service, answer.

use crate::{
    auth::accounts::login_email,
    fields::required,
    tags::Tags,
    users::{
        api_keys,
        service::{self, TakenElsewhere, check_establishment, check_roles, insert_user, within},
        views::{ApiKeyView, NewApiKey, NewUser, Roles, UserPatch, UserView, key_view, view},
    },
};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::{Action, Scope},
    authz,
    context::Authenticated,
    http::{Created, JsonBody, List, NoContent, TenantAuth, fetch_page},
};
use poem::{Request, web::Data};
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use std::sync::Arc;
use uuid::Uuid;

/// Users, roles and API keys.
pub struct UsersApi;

#[OpenApi(prefix_path = "/api/v1", tag = "Tags::Users")]
impl UsersApi {
    /// List users
    ///
    /// The users within the caller's `users`/`read` scope: themself (own), their
    /// establishment's users, or every user of the tenant.
    #[oai(path = "/users", method = "get")]
    async fn list(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        cursor: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> poem::Result<Json<List<UserView>>> {
        let cx = app.authz.context(&auth.0, "users", Action::Read).await?;
        let page = fetch_page(
            &app.db,
            within(&cx),
            crate::entities::user::Column::Id,
            cursor.0.as_deref(),
            limit.0,
        )
        .await?;
        let mut items = Vec::with_capacity(page.rows.len());
        for u in page.rows {
            items.push(view(&app, u).await?);
        }
        Ok(Json(List {
            items,
            next_cursor: page.next_cursor,
            total: None,
        }))
    }

    /// Create a user
    ///
    /// Needs `users`/`write`; with establishment scope, only in the caller's establishment.
    /// Roles given must not exceed the caller's own rights. Without a password the user is
    /// invited by mail.
    #[oai(path = "/users", method = "post")]
    async fn create(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        body: JsonBody<NewUser>,
    ) -> poem::Result<Created<UserView>> {
        let cx = app.authz.context(&auth.0, "users", Action::Write).await?;
        let email = login_email("email", &body.email)?;
        let name = required("name", &body.name, 200)?;
        let est = body.establishment_id.or(if cx.scope() < Scope::Tenant {
            cx.establishment_id()
        } else {
            None
        });
        if let Some(e) = est {
            check_establishment(&app, &cx, e).await?;
        } else if cx.scope() < Scope::Tenant {
            return Err(Error::invalid(
                "establishment_id",
                msg!("required: you manage the users of your establishment"),
            )
            .into());
        }
        let roles = check_roles(&app, cx.user(), &body.roles).await?;
        let u = insert_user(
            &app,
            Some(&cx),
            auth.tenant_id(),
            &email,
            &name,
            body.password.as_deref(),
            est,
            &roles,
            TakenElsewhere::Conceal,
        )
        .await?;
        let location = format!("/api/v1/users/{}", u.id);
        Ok(Created::at(location, view(&app, u).await?))
    }

    /// Get a user
    #[oai(path = "/users/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<UserView>> {
        let cx = app.authz.context(&auth.0, "users", Action::Read).await?;
        let u = service::reachable(&app, &cx, id.0).await?;
        Ok(Json(view(&app, u).await?))
    }

    /// Change a user
    ///
    /// Rename, move to another establishment, deactivate or reactivate. Deactivating revokes
    /// the user's tokens and API keys at once.
    #[oai(path = "/users/:id", method = "patch")]
    async fn patch(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<UserPatch>,
    ) -> poem::Result<Json<UserView>> {
        let cx = app.authz.context(&auth.0, "users", Action::Write).await?;
        let u = service::update_user(&app, &cx, id.0, &body).await?;
        Ok(Json(view(&app, u).await?))
    }

    /// A user's roles
    #[oai(path = "/users/:id/roles", method = "get")]
    async fn roles(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<Roles>> {
        let cx = app.authz.context(&auth.0, "users", Action::Read).await?;
        let u = service::reachable(&app, &cx, id.0).await?;
        Ok(Json(Roles {
            roles: authz::user_roles(&app.db, u.tenant_id, u.id).await?,
        }))
    }

    /// Replace a user's roles
    ///
    /// Needs `permissions`/`write`. The caller must hold every right of each role given or
    /// taken away. The tenant's last active admin keeps the admin role. Applies at once on
    /// every node.
    #[oai(path = "/users/:id/roles", method = "put")]
    async fn set_roles(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<Roles>,
    ) -> poem::Result<Json<Roles>> {
        let perms = app
            .authz
            .context(&auth.0, "permissions", Action::Write)
            .await?;
        let users = app.authz.context(&auth.0, "users", Action::Read).await?;
        let roles = service::set_roles(&app, &perms, &users, id.0, &body.roles).await?;
        Ok(Json(Roles { roles }))
    }

    /// List API keys
    ///
    /// Needs `settings.api_keys`/`read`. Keys are never shown again after creation.
    #[oai(path = "/api-keys", method = "get")]
    async fn list_keys(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
    ) -> poem::Result<Json<List<ApiKeyView>>> {
        let cx = app
            .authz
            .context(&auth.0, "settings.api_keys", Action::Read)
            .await?;
        let items = api_keys::list(&app, &cx)
            .await?
            .into_iter()
            .map(|k| key_view(k, None))
            .collect();
        Ok(Json(List {
            items,
            next_cursor: None,
            total: None,
        }))
    }

    /// Create an API key
    ///
    /// Needs `settings.api_keys`/`write` at a scope that reaches the user (own: oneself;
    /// establishment: users of one's establishment), and, for another user than oneself, the
    /// right to manage that user (`users`/`write` reaching them, as for editing the user).
    /// A user one cannot see answers 404, one seen but not managed 403. The key acts as the
    /// user: it resolves to that user on every call, with their current rights and
    /// establishment, which must not exceed the caller's. An API key cannot create keys.
    /// Use it as `Authorization: Bearer <key>`. The key is in this answer only.
    #[oai(path = "/api-keys", method = "post")]
    async fn create_key(
        &self,
        app: Data<&Arc<App>>,
        req: &Request,
        auth: TenantAuth,
        body: JsonBody<NewApiKey>,
    ) -> poem::Result<Created<ApiKeyView>> {
        let cx = app
            .authz
            .context(&auth.0, "settings.api_keys", Action::Write)
            .await?;
        refuse_api_key(req)?;
        let (k, key) = api_keys::create(&app, &cx, &body.name, body.user_id).await?;
        // A key is never read back (its secret is shown once): its place is the list.
        Ok(Created::at("/api/v1/api-keys", key_view(k, Some(key))))
    }

    /// Revoke an API key
    ///
    /// Needs `settings.api_keys`/`write` at a scope that reaches the key's user; other keys
    /// answer 404. An API key cannot revoke keys.
    #[oai(path = "/api-keys/:id", method = "delete")]
    async fn revoke_key(
        &self,
        app: Data<&Arc<App>>,
        req: &Request,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<NoContent> {
        let cx = app
            .authz
            .context(&auth.0, "settings.api_keys", Action::Write)
            .await?;
        refuse_api_key(req)?;
        api_keys::revoke(&app, &cx, id.0).await?;
        Ok(NoContent::NoContent)
    }
}

/// API keys act for integrations; they cannot mint or revoke keys, so a leaked key cannot
/// outlive its own revocation through a key it created.
fn refuse_api_key(req: &Request) -> Result<()> {
    if req
        .extensions()
        .get::<Authenticated>()
        .is_some_and(|a| a.via_api_key)
    {
        return Err(Error::forbidden(msg!(
            "API keys cannot manage API keys; use a user's session"
        )));
    }
    Ok(())
}
