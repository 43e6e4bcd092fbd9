//! Login, logout, invitations, password resets and `/me`.

pub mod accounts;
pub mod api;
pub mod credentials;
pub mod me;
pub mod passwords;
pub mod sessions;
pub mod views;

pub use accounts::{Account, claim_email, email_taken, login_email, try_claim_email};
pub use api::AuthApi;
pub use credentials::{API_KEY_KIND, issue_credential, revoke_all};
pub use passwords::{RESET_TTL_MINUTES, invite};
pub use views::{
    AcceptInvitation, ConfirmPasswordReset, LoginRequest, LoginResponse, Me, MeReseller, MeTenant,
    PasswordResetAccepted, PasswordResetAnswer, PasswordResetRequest, UserBrief,
};
