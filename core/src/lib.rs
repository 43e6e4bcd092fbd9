//! The Forecourt host.
//!
//! `core` owns what every module shares: the [`module::Module`] trait and the [`registry`] the
//! binary assembles, licence tiers and permission vocabulary ([`access`]), the authenticated
//! [`context::Principal`] and the tenant context ([`tenancy::Cx`]) every tenant table is read
//! through, the one error type, configuration, the database and cache handles, the permission
//! enforcer, core [`events`], the unit of work ([`uow`]) every write runs in, the activity log
//! and mail. Modules depend on `core` and never on `web` or on one another: a module reaches
//! another only through a port of [`ports`].

pub mod access;
pub mod activity;
pub mod app;
pub mod authz;
pub mod cache;
pub mod clock;
pub mod config;
pub mod context;
pub mod dates;
pub mod db;
pub mod entities;
pub mod error;
pub mod events;
pub mod http;
pub mod i18n;
pub mod input;
pub mod mail;
pub mod module;
pub mod money;
pub mod ports;
pub mod principals;
pub mod registry;
pub mod secret;
pub mod status_history;
pub mod storage;
pub mod tenancy;
pub mod uow;

pub use app::App;
pub use error::{Checks, Error, FieldError, Result};
pub use i18n::{Lang, Msg};
