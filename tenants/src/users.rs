//! Users of a tenant, their roles, and integration API keys.

use crate::{
    Tags,
    auth::{
        API_KEY_KIND, Account, email_taken, invite, issue_credential, login_email, revoke_all,
        try_claim_email,
    },
    entities::{api_key, credential, establishment, tenant, user},
    password, permissions,
    platform::required,
};
use forecourt_core::{
    App, Error, Result,
    access::{Action, Scope},
    activity::{self, Actor},
    authz,
    context::{Authenticated, TenantUser},
    error::map_unique,
    http::{Created, JsonBody, List, NoContent, TenantAuth, fetch_page},
};
use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, prelude::Expr,
};
use std::sync::Arc;
use uuid::Uuid;

/// A user of the tenant.
#[derive(Object, serde::Serialize)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The user's establishment.
    #[oai(nullable)]
    pub establishment_id: Option<Uuid>,
    /// The user's roles.
    pub roles: Vec<String>,
    /// Inactive users cannot log in; their tokens are revoked.
    pub active: bool,
    /// Whether the user has set a password (false while an invitation is pending).
    pub has_password: bool,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A user to create.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login email, unique across the platform.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// Display name.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// Password; without it an invitation mail is sent.
    #[oai(validator(max_length = 256))]
    pub password: Option<String>,
    /// Roles to give (default: none).
    #[oai(default)]
    #[serde(default)]
    #[oai(validator(max_length = 64))]
    pub roles: Vec<String>,
    /// The user's establishment.
    pub establishment_id: Option<Uuid>,
}

/// Changes to a user.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New display name.
    #[oai(validator(max_length = 200))]
    pub name: Option<String>,
    /// New establishment, or `null` for none.
    #[serde(default)]
    pub establishment_id: MaybeUndefined<Uuid>,
    /// Deactivate (revokes the user's tokens and keys) or reactivate.
    pub active: Option<bool>,
}

/// A user's roles.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Role names.
    #[oai(validator(max_length = 64))]
    pub roles: Vec<String>,
}

/// An API key to create.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for.
    #[oai(validator(max_length = 200))]
    pub name: String,
    /// The user the key acts as; it has exactly that user's rights.
    pub user_id: Uuid,
}

/// An API key (its secret is shown only when created).
#[derive(Object)]
pub struct ApiKeyView {
    /// Key id.
    pub id: Uuid,
    /// What the key is for.
    pub name: String,
    /// The user the key acts as.
    pub user_id: Uuid,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// The key itself: only in the answer to its creation.
    #[oai(nullable)]
    pub key: Option<String>,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

async fn view(app: &App, u: user::Model) -> Result<UserView> {
    Ok(UserView {
        roles: authz::user_roles(&app.db, u.tenant_id, u.id).await?,
        has_password: u.password_hash.is_some(),
        id: u.id,
        email: u.email,
        name: u.name,
        establishment_id: u.establishment_id,
        active: u.active,
        created_at: u.created_at,
        updated_at: u.updated_at,
    })
}

/// The users a scope lets the caller reach.
pub(crate) fn scope_condition(scope: Scope, caller: &TenantUser) -> Condition {
    match scope {
        Scope::Tenant => Condition::all(),
        Scope::Establishment => match caller.establishment_id {
            Some(e) => Condition::any()
                .add(user::Column::EstablishmentId.eq(e))
                .add(user::Column::Id.eq(caller.user_id)),
            None => Condition::all().add(user::Column::Id.eq(caller.user_id)),
        },
        Scope::Own => Condition::all().add(user::Column::Id.eq(caller.user_id)),
    }
}

/// Whether `target` lies within `scope` as seen from `caller`: the same rule as
/// [`scope_condition`], for a user already loaded.
fn in_scope(scope: Scope, caller: &TenantUser, target: &user::Model) -> bool {
    match scope {
        Scope::Tenant => true,
        Scope::Establishment => {
            target.id == caller.user_id
                || (caller.establishment_id.is_some()
                    && target.establishment_id == caller.establishment_id)
        }
        Scope::Own => target.id == caller.user_id,
    }
}

/// A user of the caller's tenant within the caller's scope for `action`, else 404 (or 403
/// when the caller has no right at all).
async fn reachable(
    app: &App,
    caller: &TenantUser,
    id: Uuid,
    action: Action,
) -> Result<user::Model> {
    let scope = app.authz.require(caller, "users", action).await?;
    user::Entity::find()
        .filter(user::Column::TenantId.eq(caller.tenant_id))
        .filter(user::Column::Id.eq(id))
        .filter(scope_condition(scope, caller))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// An establishment of the caller's tenant, else 404 naming the field.
async fn check_establishment(app: &App, caller: &TenantUser, id: Uuid, scope: Scope) -> Result<()> {
    establishment::Entity::find_by_id((caller.tenant_id, id))
        .one(&app.db)
        .await?
        .ok_or(Error::NotFound("establishment"))?;
    if scope < Scope::Tenant && caller.establishment_id != Some(id) {
        return Err(Error::forbidden(
            "you can only manage users of your own establishment",
        ));
    }
    Ok(())
}

async fn check_roles(app: &App, caller: &TenantUser, roles: &[String]) -> Result<Vec<String>> {
    let known = permissions::known_roles(&app.db, caller.tenant_id).await?;
    let mut out = Vec::new();
    for r in roles {
        let r = r.trim().to_string();
        if !known.contains(&r) {
            return Err(Error::invalid("roles", format!("unknown role `{r}`")));
        }
        permissions::ensure_covers_role(app, caller, &r).await?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// What [`insert_user`] does with an email that another account (of another tenant, or of
/// the platform) already logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakenElsewhere {
    /// 409 `email_taken`: for trusted callers (the demo seed), to whom it reveals nothing.
    Refuse,
    /// Answer exactly as for a free address, so a tenant admin learns nothing about other
    /// tenants: the user is created in the caller's tenant without a login (the email keeps
    /// logging in to its existing account only), and instead of an invitation the address
    /// is told that it already has an account and cannot be invited with it.
    Conceal,
}

/// Inserts a validated user with their roles in one transaction, inviting them by mail when
/// no password is given. `by` is the acting user, for the activity log. The same email twice
/// in one tenant is 409 `email_taken`; an email taken elsewhere is handled per `taken`.
#[allow(clippy::too_many_arguments)]
pub async fn insert_user(
    app: &App,
    by: Option<&TenantUser>,
    tid: Uuid,
    email: &str,
    name: &str,
    password: Option<&str>,
    est: Option<Uuid>,
    roles: &[String],
    taken: TakenElsewhere,
) -> Result<user::Model> {
    let hash = match password {
        Some(pw) => {
            password::check_new("password", pw)?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };
    let now = app.clock.now();
    let id = Uuid::now_v7();
    let txn = forecourt_core::db::begin(&app.db).await?;
    let u = user::ActiveModel {
        tenant_id: Set(tid),
        id: Set(id),
        email: Set(email.to_string()),
        name: Set(name.to_string()),
        password_hash: Set(hash.clone()),
        establishment_id: Set(est),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        map_unique(
            e,
            "email_taken",
            "this email is already used by an account",
            "email",
        )
    })?;
    let account = Account::Tenant {
        tenant_id: tid,
        user_id: id,
    };
    let claimed = try_claim_email(&txn, email, account).await?;
    if !claimed && taken == TakenElsewhere::Refuse {
        return Err(email_taken());
    }
    authz::set_user_roles(&txn, tid, id, roles).await?;
    let t = tenant::Entity::find_by_id(tid)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("tenant"))?;
    if !claimed {
        // The owner of the address learns that someone tried; the caller sees a user like
        // any other, whose invitation simply never gets accepted.
        app.mail
            .enqueue(
                &txn,
                now,
                Some(tid),
                email,
                "account_exists",
                &t.language,
                &serde_json::json!({"name": name, "tenant_name": t.name}),
            )
            .await?;
    } else if hash.is_none() {
        invite(
            &txn,
            app,
            Account::Tenant {
                tenant_id: tid,
                user_id: id,
            },
            Some(tid),
            email,
            name,
            &t.name,
            &t.language,
        )
        .await?;
    }
    let actor = by.map(Actor::User).unwrap_or(Actor::System("demo-seed"));
    activity::record(
        &txn,
        tid,
        actor,
        now,
        "user",
        id,
        "created",
        serde_json::json!({"email": email, "name": name, "roles": roles}),
    )
    .await?;
    txn.commit().await?;
    app.authz.changed(tid).await;
    app.mail.wake();
    Ok(u)
}

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
        let scope = app.authz.require(&auth.0, "users", Action::Read).await?;
        let q = user::Entity::find()
            .filter(user::Column::TenantId.eq(auth.tenant_id()))
            .filter(scope_condition(scope, &auth.0));
        let page = fetch_page(&app.db, q, user::Column::Id, cursor.0.as_deref(), limit.0).await?;
        let mut items = Vec::with_capacity(page.rows.len());
        for u in page.rows {
            items.push(view(&app, u).await?);
        }
        Ok(Json(List {
            items,
            next_cursor: page.next_cursor,
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
        let scope = app.authz.require(&auth.0, "users", Action::Write).await?;
        let email = login_email("email", &body.email)?;
        let name = required("name", &body.name, 200)?;
        let est = body.establishment_id.or(if scope < Scope::Tenant {
            auth.0.establishment_id
        } else {
            None
        });
        if let Some(e) = est {
            check_establishment(&app, &auth.0, e, scope).await?;
        } else if scope < Scope::Tenant {
            return Err(Error::invalid(
                "establishment_id",
                "required: you manage the users of your establishment",
            )
            .into());
        }
        let roles = check_roles(&app, &auth.0, &body.roles).await?;
        let u = insert_user(
            &app,
            Some(&auth.0),
            auth.tenant_id(),
            &email,
            &name,
            body.password.as_deref(),
            est,
            &roles,
            TakenElsewhere::Conceal,
        )
        .await?;
        Ok(Created::Created(Json(view(&app, u).await?)))
    }

    /// Get a user
    #[oai(path = "/users/:id", method = "get")]
    async fn get(
        &self,
        app: Data<&Arc<App>>,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> poem::Result<Json<UserView>> {
        let u = reachable(&app, &auth.0, id.0, Action::Read).await?;
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
        let u = reachable(&app, &auth.0, id.0, Action::Write).await?;
        let scope = app.authz.require(&auth.0, "users", Action::Write).await?;
        permissions::ensure_covers_user(&app, &auth.0, u.id).await?;
        let before = serde_json::json!({"name": u.name, "establishment_id": u.establishment_id, "active": u.active});
        let current_establishment = u.establishment_id;
        let mut am: user::ActiveModel = u.into();
        if let Some(n) = &body.name {
            am.name = Set(required("name", n, 200)?);
        }
        let new_establishment = match &body.establishment_id {
            MaybeUndefined::Value(e) => Some(Some(*e)),
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Undefined => None,
        };
        if let Some(est) = new_establishment.filter(|e| *e != current_establishment) {
            // One's establishment decides what one's establishment-scoped grants reach (and
            // which companies' contacts one sees), so it is set by someone else.
            if id.0 == auth.0.user_id {
                return Err(Error::forbidden(
                    "you cannot change your own establishment; ask another administrator",
                )
                .into());
            }
            match est {
                Some(e) => check_establishment(&app, &auth.0, e, scope).await?,
                // Without an establishment the user would leave an establishment-scoped
                // editor's reach, and "no establishment" is never a way to widen a view.
                None if scope < Scope::Tenant => {
                    return Err(Error::forbidden(
                        "you can only manage users of your own establishment",
                    )
                    .into());
                }
                None => {}
            }
            am.establishment_id = Set(est);
        }
        let deactivate = body.active == Some(false);
        if let Some(a) = body.active {
            if !a && id.0 == auth.0.user_id {
                return Err(Error::conflict(
                    "cannot_deactivate_self",
                    "you cannot deactivate yourself",
                )
                .into());
            }
            am.active = Set(a);
        }
        am.updated_at = Set(app.clock.now());
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let u = am.update(&txn).await.map_err(Error::from)?;
        if deactivate {
            revoke_all(&txn, &app, u.tenant_id, u.id).await?;
        }
        let after = serde_json::json!({"name": u.name, "establishment_id": u.establishment_id, "active": u.active});
        activity::record(
            &txn,
            u.tenant_id,
            Actor::User(&auth.0),
            app.clock.now(),
            "user",
            u.id,
            "updated",
            activity::diff(&before, &after),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
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
        let u = reachable(&app, &auth.0, id.0, Action::Read).await?;
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
        app.authz
            .require(&auth.0, "permissions", Action::Write)
            .await?;
        let u = reachable(&app, &auth.0, id.0, Action::Read).await?;
        let tid = auth.tenant_id();
        let new = check_roles(&app, &auth.0, &body.roles).await?;
        let old = authz::user_roles(&app.db, tid, u.id).await?;
        for removed in old.iter().filter(|r| !new.contains(r)) {
            permissions::ensure_covers_role(&app, &auth.0, removed).await?;
        }
        if old.iter().any(|r| r == "admin")
            && !new.iter().any(|r| r == "admin")
            && !other_admin_exists(&app, tid, u.id).await?
        {
            return Err(Error::conflict(
                "last_admin",
                "the tenant must keep at least one active admin",
            )
            .into());
        }
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        authz::set_user_roles(&txn, tid, u.id, &new).await?;
        activity::record(
            &txn,
            tid,
            Actor::User(&auth.0),
            app.clock.now(),
            "user",
            u.id,
            "roles_changed",
            serde_json::json!({"roles": {"from": old, "to": new}}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        app.authz.changed(tid).await;
        Ok(Json(Roles { roles: new }))
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
        let scope = app
            .authz
            .require(&auth.0, "settings.api_keys", Action::Read)
            .await?;
        let mut q = api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(auth.tenant_id()))
            .filter(api_key::Column::RevokedAt.is_null());
        if scope < Scope::Tenant {
            q = q
                .filter(api_key::Column::UserId.is_in(users_in_scope(&app, &auth.0, scope).await?));
        }
        let rows = q
            .order_by_asc(api_key::Column::Id)
            .all(&app.db)
            .await
            .map_err(Error::from)?;
        let items = rows.into_iter().map(|k| key_view(k, None)).collect();
        Ok(Json(List {
            items,
            next_cursor: None,
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
        let key_scope = app
            .authz
            .require(&auth.0, "settings.api_keys", Action::Write)
            .await?;
        refuse_api_key(req)?;
        let name = required("name", &body.name, 200)?;
        let tid = auth.tenant_id();
        let target = user::Entity::find_by_id((tid, body.user_id))
            .one(&app.db)
            .await
            .map_err(Error::from)?
            .ok_or(Error::NotFound("user"))?;
        ensure_manages(&app, &auth.0, &target, key_scope).await?;
        permissions::ensure_covers_user(&app, &auth.0, body.user_id).await?;
        let id = Uuid::now_v7();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        let account = Account::Tenant {
            tenant_id: tid,
            user_id: body.user_id,
        };
        let key = issue_credential(&txn, &app, API_KEY_KIND, account, None, Some(id)).await?;
        let k = api_key::ActiveModel {
            tenant_id: Set(tid),
            id: Set(id),
            user_id: Set(body.user_id),
            name: Set(name),
            prefix: Set(key.chars().take(12).collect()),
            created_by: Set(Some(auth.0.user_id)),
            created_at: Set(app.clock.now()),
            revoked_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(Error::from)?;
        activity::record(
            &txn,
            tid,
            Actor::User(&auth.0),
            app.clock.now(),
            "api_key",
            id,
            "created",
            serde_json::json!({"name": k.name, "user_id": k.user_id}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(Created::Created(Json(key_view(k, Some(key)))))
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
        let scope = app
            .authz
            .require(&auth.0, "settings.api_keys", Action::Write)
            .await?;
        refuse_api_key(req)?;
        let tid = auth.tenant_id();
        let k = api_key::Entity::find_by_id((tid, id.0))
            .one(&app.db)
            .await
            .map_err(Error::from)?
            .filter(|k| k.revoked_at.is_none())
            .ok_or(Error::NotFound("api key"))?;
        if scope < Scope::Tenant {
            let owner = user::Entity::find_by_id((tid, k.user_id))
                .one(&app.db)
                .await
                .map_err(Error::from)?;
            if !owner.is_some_and(|o| in_scope(scope, &auth.0, &o)) {
                return Err(Error::NotFound("api key").into());
            }
        }
        let now = app.clock.now();
        let txn = forecourt_core::db::begin(&app.db)
            .await
            .map_err(Error::from)?;
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(now))
            .filter(api_key::Column::TenantId.eq(tid))
            .filter(api_key::Column::Id.eq(k.id))
            .exec(&txn)
            .await
            .map_err(Error::from)?;
        credential::Entity::update_many()
            .col_expr(credential::Column::RevokedAt, Expr::value(now))
            .filter(credential::Column::TenantId.eq(tid))
            .filter(credential::Column::ApiKeyId.eq(k.id))
            .exec(&txn)
            .await
            .map_err(Error::from)?;
        activity::record(
            &txn,
            tid,
            Actor::User(&auth.0),
            now,
            "api_key",
            k.id,
            "revoked",
            serde_json::json!({}),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(NoContent::NoContent)
    }
}

/// The ids of the users `scope` reaches from `caller`.
async fn users_in_scope(app: &App, caller: &TenantUser, scope: Scope) -> Result<Vec<Uuid>> {
    Ok(user::Entity::find()
        .filter(user::Column::TenantId.eq(caller.tenant_id))
        .filter(scope_condition(scope, caller))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// Fails unless `caller` may act for `target` with a grant of `scope` (e.g. create a key for
/// them): `target` must be within `scope` and, unless it is the caller, within the caller's
/// `users`/`write` scope, the rule for editing a user. A user the caller cannot even read is
/// not found.
async fn ensure_manages(
    app: &App,
    caller: &TenantUser,
    target: &user::Model,
    scope: Scope,
) -> Result<()> {
    let visible = app
        .authz
        .scope(caller, "users", Action::Read)
        .await?
        .is_some_and(|s| in_scope(s, caller, target));
    if !visible {
        return Err(Error::NotFound("user"));
    }
    let manages = target.id == caller.user_id
        || app
            .authz
            .scope(caller, "users", Action::Write)
            .await?
            .is_some_and(|s| in_scope(s, caller, target));
    if !manages || !in_scope(scope, caller, target) {
        return Err(Error::forbidden(
            "you can only create keys for yourself or for users you manage",
        ));
    }
    Ok(())
}

/// API keys act for integrations; they cannot mint or revoke keys, so a leaked key cannot
/// outlive its own revocation through a key it created.
fn refuse_api_key(req: &Request) -> Result<()> {
    if req
        .extensions()
        .get::<Authenticated>()
        .is_some_and(|a| a.via_api_key)
    {
        return Err(Error::forbidden(
            "API keys cannot manage API keys; use a user's session",
        ));
    }
    Ok(())
}

fn key_view(k: api_key::Model, key: Option<String>) -> ApiKeyView {
    ApiKeyView {
        id: k.id,
        name: k.name,
        user_id: k.user_id,
        prefix: k.prefix,
        key,
        created_at: k.created_at,
    }
}

async fn other_admin_exists(app: &App, tenant_id: Uuid, except: Uuid) -> Result<bool> {
    use forecourt_core::entities::casbin_rule;
    let members = casbin_rule::Entity::find()
        .filter(casbin_rule::Column::TenantId.eq(tenant_id))
        .filter(casbin_rule::Column::Ptype.eq("g"))
        .filter(casbin_rule::Column::V1.eq(authz::role_subject("admin")))
        .filter(casbin_rule::Column::V0.ne(authz::user_subject(except)))
        .all(&app.db)
        .await?;
    let ids: Vec<Uuid> = members
        .iter()
        .filter_map(|m| m.v0.strip_prefix("user:")?.parse().ok())
        .collect();
    let active = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::Id.is_in(ids))
        .filter(user::Column::Active.eq(true))
        .count(&app.db)
        .await?;
    Ok(active > 0)
}
