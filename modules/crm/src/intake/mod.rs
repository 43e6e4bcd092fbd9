//! Leads from partners landing on contacts and opportunities.

pub mod customer;
pub mod service;
