//! Opportunities: a customer's sales case, its status, people and vehicles.

pub mod api;
pub mod assignment;
pub mod entities;
pub mod links;
pub mod mail;
pub mod outcome;
pub mod reads;
pub mod service;
pub mod status;
pub mod views;
