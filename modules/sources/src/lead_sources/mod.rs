//! `/api/v1/lead-sources`: the tenant's lead sources.

pub mod api;
pub mod entities;
pub mod port;
pub mod service;
pub mod views;
