//! The lead page of an opportunity: its actions (comments, tasks, test drives, offers) and
//! documents.

pub mod actions;
pub mod documents;
pub mod entities;
