//! The auth endpoints: login, logout, invitations, password resets and `/me`.

use crate::{
    auth::{
        accounts::login_email,
        me::me,
        passwords::{accept_invitation, confirm_reset, request_reset},
        sessions::{login, logout},
        views::{
            AcceptInvitation, ConfirmPasswordReset, LoginRequest, LoginResponse, Me,
            PasswordResetAccepted, PasswordResetAnswer, PasswordResetRequest,
        },
    },
    tags::Tags,
};
use forecourt_core::{
    App,
    http::{Auth, JsonBody, NoContent},
};
use poem::{Request, web::Data};
use poem_openapi::{OpenApi, payload::Json};
use std::sync::Arc;

/// Login, logout, invitations, the current user.
pub struct AuthApi;

fn client_ip(req: &Request) -> String {
    req.remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tags::Auth")]
impl AuthApi {
    /// Log in
    ///
    /// Exchanges an email and password for a bearer token. A wrong password and an unknown
    /// email get the same 401. After repeated failures for one account or from one address,
    /// attempts are refused with 429 and `Retry-After` for the rest of the window.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(
        &self,
        app: Data<&Arc<App>>,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> poem::Result<Json<LoginResponse>> {
        Ok(Json(
            login(&app, &client_ip(req), &body.email, &body.password).await?,
        ))
    }

    /// Log out
    ///
    /// Revokes the token used for this call. API keys are revoked through `/api-keys` instead.
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(&self, app: Data<&Arc<App>>, auth: Auth) -> poem::Result<NoContent> {
        logout(&app, &auth.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Accept an invitation
    ///
    /// Sets the password of an invited account with the single-use token of the invitation
    /// mail. An unknown, used or expired token answers 404.
    #[oai(path = "/auth/accept-invitation", method = "post")]
    async fn accept(
        &self,
        app: Data<&Arc<App>>,
        body: JsonBody<AcceptInvitation>,
    ) -> poem::Result<NoContent> {
        accept_invitation(&app, &body.token, &body.password).await?;
        Ok(NoContent::NoContent)
    }

    /// Ask for a password reset
    ///
    /// Mails a single-use link to `{public_url}/reset-password`, valid for an hour, to the
    /// account that signs in with `email` (in its tenant's language); a new request voids the
    /// previous link. The answer is the same 202, in the same time, whether or not such an
    /// account exists: the mail is prepared after answering. Requests are counted per address
    /// and per email like failed logins (`login_max_failures_per_account`,
    /// `login_max_failures_per_address` per `login_window_secs`); beyond them, 429 with
    /// `Retry-After`.
    #[oai(path = "/auth/password-reset", method = "post")]
    async fn request_reset(
        &self,
        app: Data<&Arc<App>>,
        req: &Request,
        body: JsonBody<PasswordResetRequest>,
    ) -> poem::Result<PasswordResetAnswer> {
        let email = login_email("email", &body.email)?;
        request_reset(&app, &client_ip(req), email).await?;
        Ok(PasswordResetAnswer::Accepted(Json(PasswordResetAccepted {
            detail: "if an account signs in with this address, a link to choose a new password \
                     has been sent to it"
                .into(),
        })))
    }

    /// Choose a new password
    ///
    /// Sets the password of the account of a reset link's `token` (same rules as everywhere:
    /// 10 to 256 characters), consumes the token, and revokes the account's sessions, other
    /// reset links and pending invitations (API keys stay). An unknown, used or expired token
    /// answers 404.
    #[oai(path = "/auth/password-reset/confirm", method = "post")]
    async fn confirm_reset(
        &self,
        app: Data<&Arc<App>>,
        body: JsonBody<ConfirmPasswordReset>,
    ) -> poem::Result<NoContent> {
        confirm_reset(&app, &body.token, &body.password).await?;
        Ok(NoContent::NoContent)
    }

    /// The current user
    ///
    /// Who the token belongs to: the user, their tenant or reseller, their roles and the
    /// modules enabled for them.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, app: Data<&Arc<App>>, auth: Auth) -> poem::Result<Json<Me>> {
        Ok(Json(me(&app, &auth.0.principal).await?))
    }
}
