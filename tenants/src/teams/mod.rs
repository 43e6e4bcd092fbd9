//! Teams of a tenant's users: a name, an optional establishment and leader, and members. A
//! contact or an opportunity assigned to a team is within the `own` reach of every member.

pub mod api;
pub mod entities;
pub mod service;
pub mod views;

pub use api::TeamsApi;
