//! What the users and API keys endpoints take and answer.

use crate::entities::{api_key, user};
use forecourt_core::{App, Result, authz};
use poem_openapi::{Object, types::MaybeUndefined};
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

/// A user as the API shows it, with their roles.
pub(crate) async fn view(app: &App, u: user::Model) -> Result<UserView> {
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

/// An API key as the API shows it; `key` only in the answer to its creation.
pub(crate) fn key_view(k: api_key::Model, key: Option<String>) -> ApiKeyView {
    ApiKeyView {
        id: k.id,
        name: k.name,
        user_id: k.user_id,
        prefix: k.prefix,
        key,
        created_at: k.created_at,
    }
}
