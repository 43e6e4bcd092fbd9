//! The Forecourt host.
//!
//! `core` owns what every module shares: the [`module::Module`] trait and its registry, licence
//! tiers, the authenticated [`context::Principal`], the one error type, configuration, the
//! database and cache handles, the permission enforcer, core events, the activity log and mail.
//! Modules depend on `core` and never on `web`. A module reaches another only through a port
//! of `core` ([`module::ContactPort`], [`module::LeadPort`]) or, for a module it declares in
//! [`module::Module::depends_on`], through that module's crate (connectors create lead sources
//! with `sources`).

pub mod activity;
pub mod app;
pub mod authz;
pub mod body;
pub mod cache;
pub mod clock;
pub mod config;
pub mod context;
pub mod dates;
pub mod db;
pub mod entities;
pub mod error;
pub mod http;
pub mod input;
pub mod mail;
pub mod module;
pub mod operations;
pub mod secret;
pub mod storage;

pub use app::App;
pub use error::{Error, Result};
