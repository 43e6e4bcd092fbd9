//! Contacts: people and companies a dealer deals with, their emails, phones, addresses and
//! groups, duplicates and merge.

pub mod api;
pub mod entities;
pub mod input;
pub mod read;
pub mod service;
pub mod status;
pub mod store;
pub mod terms;
pub mod validate;
pub mod views;
pub mod visibility;
