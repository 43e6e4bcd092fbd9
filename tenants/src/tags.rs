//! The API tags of this crate, for the OpenAPI document (a leaf every API file uses).

/// The API tags of this crate, for the OpenAPI document.
#[derive(poem_openapi::Tags)]
pub enum Tags {
    /// Login, logout, invitations and the current user.
    Auth,
    /// The operator's and resellers' management of tenants.
    Platform,
    /// A tenant admin's settings: modules, companies, establishments.
    Settings,
    /// Users, their roles and API keys.
    Users,
    /// Grants and roles.
    Permissions,
    /// Teams of users, to which contacts and opportunities can be assigned.
    Teams,
}
