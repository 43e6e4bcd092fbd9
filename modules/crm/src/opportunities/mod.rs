//! Opportunities: a customer's sales case, its status, people and vehicles.

pub mod api;
pub mod entities;
