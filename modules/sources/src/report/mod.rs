//! `/api/v1/reports/lead-sources`: leads, won, lost and conversion per source, optionally per
//! establishment and per assigned user, over a period of creation dates.

pub mod api;
pub mod params;
pub mod service;
pub mod views;
