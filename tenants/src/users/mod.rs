//! Users of a tenant, their roles, and integration API keys.

pub mod api;
pub mod api_keys;
pub mod service;
pub mod views;

pub use api::UsersApi;
pub use service::{TakenElsewhere, insert_user};
pub use views::{ApiKeyView, NewApiKey, NewUser, Roles, UserPatch, UserView};
