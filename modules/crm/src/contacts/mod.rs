//! Contacts: people and companies a dealer deals with, their emails, phones, addresses and
//! groups, duplicates and merge.

pub mod api;
pub mod entities;
pub mod service;
pub mod validate;
