//! What the auth endpoints take and answer.

use forecourt_core::access::Tier;
use poem_openapi::{ApiResponse, Object, payload::Json};
use uuid::Uuid;

/// Credentials to log in with.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's email.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// The account's password.
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// A user as shown to themself.
#[derive(Object, Clone)]
pub struct UserBrief {
    /// The user's id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// What a successful login returns.
#[derive(Object)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer <token>`; expires after `token_ttl_hours`.
    pub token: String,
    /// When the token expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Who logged in.
    pub user: UserBrief,
    /// `operator`, `reseller` or `tenant`.
    pub kind: String,
}

/// Setting a password from an invitation link.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The `token` of the invitation link.
    #[oai(validator(max_length = 256))]
    pub token: String,
    /// The new password (at least 10 characters).
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// Asking for a link to choose a new password.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The email the account signs in with.
    #[oai(validator(max_length = 254))]
    pub email: String,
}

/// The answer to a reset request: the same whether or not an account uses the address.
#[derive(Object)]
pub struct PasswordResetAccepted {
    /// What happens next, for the person who asked.
    pub detail: String,
}

/// The answer to a reset request.
#[derive(ApiResponse)]
pub enum PasswordResetAnswer {
    /// Accepted: a link is mailed if an account signs in with this address.
    #[oai(status = 202)]
    Accepted(Json<PasswordResetAccepted>),
}

/// Choosing a new password with the token of a reset link.
#[derive(Object, serde::Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPasswordReset {
    /// The `token` of the reset link.
    #[oai(validator(max_length = 256))]
    pub token: String,
    /// The new password (at least 10 characters).
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// The caller's tenant.
#[derive(Object)]
pub struct MeTenant {
    /// Tenant id.
    pub id: Uuid,
    /// Tenant name.
    pub name: String,
    /// Licence tier.
    pub licence: Tier,
    /// Default country.
    pub country: String,
    /// Default language.
    pub language: String,
}

/// The caller's reseller.
#[derive(Object)]
pub struct MeReseller {
    /// Reseller id.
    pub id: Uuid,
    /// Reseller name.
    pub name: String,
}

/// The current caller.
#[derive(Object)]
pub struct Me {
    /// `operator`, `reseller` or `tenant`.
    pub kind: String,
    /// The user.
    pub user: UserBrief,
    /// The tenant, for tenant users.
    #[oai(nullable)]
    pub tenant: Option<MeTenant>,
    /// The reseller, for reseller users.
    #[oai(nullable)]
    pub reseller: Option<MeReseller>,
    /// The user's roles (tenant users).
    pub roles: Vec<String>,
    /// The modules enabled for the tenant (licensed and not switched off).
    pub modules: Vec<String>,
}
