//! A tenant admin's settings: modules, companies, establishments, and the activity log.

pub mod api;
pub mod service;
pub mod views;

pub use api::AdminApi;
pub use views::{
    ActivityView, CompanyPatch, CompanyView, EstablishmentPatch, EstablishmentView, ModuleToggle,
    ModuleView, NewCompanyBody, NewEstablishmentBody,
};
