//! `/api/v1/connectors/{id}/deliveries`: the delivery log and its replays.

pub mod api;
pub mod entities;
pub mod service;
pub mod views;
