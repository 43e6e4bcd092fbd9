//! The end-to-end suite: every test starts its own node(s) and drives them over HTTP.

// Test-only code: panicking on an unexpected value is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod answers;
mod auth;
mod connectors;
mod contacts;
mod defects_input;
mod defects_lead_page;
mod defects_text;
mod defects_users;
mod documents;
mod errors;
mod gating;
mod idempotency;
mod isolation;
mod languages;
mod lead_page;
mod lists;
mod multinode;
mod onboarding;
mod opel;
mod opportunities;
mod optins;
mod permissions;
mod reports;
mod round_trips;
mod search;
mod service;
mod status_moves;
mod statuses;
mod teams;
mod visibility;
