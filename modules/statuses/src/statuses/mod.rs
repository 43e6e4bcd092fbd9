//! The statuses resource: statuses, their order, transitions and policy.

pub mod api;
pub mod defaults;
pub mod entities;
pub mod service;
pub mod transitions;
pub mod validate;
pub mod views;
