//! The operator's and resellers' API: resellers, onboarding, licences and suspension.

pub mod api;
pub mod service;
pub mod views;

pub use api::PlatformApi;
pub use service::{create_operator, create_reseller, ensure_operator, onboard};
pub use views::{
    NewAdmin, NewCompany, NewEstablishment, NewPlatformUser, NewReseller, Onboarded, Onboarding,
    ResellerCreated, ResellerView, TenantPatch, TenantStatus, TenantView,
};
