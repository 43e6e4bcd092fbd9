//! The lead page of an opportunity: its actions (comments, tasks, test drives, offers) and
//! documents.

pub mod api;
pub mod entities;
pub mod files;
pub mod kinds;
pub mod service;
pub mod views;
