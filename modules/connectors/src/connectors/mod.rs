//! `/api/v1/connectors`: partners' connectors, their configuration and secrets.

pub mod api;
pub mod entities;
pub mod port;
pub mod service;
pub mod views;
