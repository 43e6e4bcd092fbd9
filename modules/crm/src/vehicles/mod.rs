//! Vehicles: stock and the vehicles customers want or offer.

pub mod api;
pub mod entities;
pub mod list;
pub mod service;
pub mod views;
