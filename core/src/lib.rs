//! The Forecourt host.
//!
//! `core` owns what every module shares: the [`module::Module`] trait and its registry, licence
//! tiers, the authenticated [`context::Principal`], the one error type, configuration, the
//! database and cache handles, the permission enforcer, core events, the activity log and mail.
//! Modules depend on `core`, never on each other or on `web`.

pub mod activity;
pub mod app;
pub mod authz;
pub mod cache;
pub mod clock;
pub mod config;
pub mod context;
pub mod db;
pub mod entities;
pub mod error;
pub mod http;
pub mod mail;
pub mod module;
pub mod secret;
pub mod storage;

pub use app::App;
pub use error::{Error, Result};
