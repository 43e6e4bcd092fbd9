//! The expiry rule of open opportunities and its sweep.

pub mod api;
pub mod entities;
pub mod service;
