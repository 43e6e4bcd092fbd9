//! The expiry rule of open opportunities and its sweep.

pub mod entities;
pub mod service;
