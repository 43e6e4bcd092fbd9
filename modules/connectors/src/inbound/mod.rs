//! `/inbound/{connector_id}/leads`: partners push leads, each prospect lands in the CRM.

pub mod api;
pub mod entities;
pub mod mapping;
pub mod parse;
pub mod service;
pub mod views;
