//! Search across the tenant: the contact search (ranked terms, cached per visibility) and the
//! `/search` endpoint that adds the opportunities of the contacts found and stock vehicles.

pub mod api;
pub mod query;
pub mod rank;
pub mod service;
