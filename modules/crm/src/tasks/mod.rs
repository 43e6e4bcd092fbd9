//! `/api/v1/tasks`: the tasks of every opportunity the caller may see, in one list (the lead
//! page lists those of one opportunity). Tasks are lead-page actions (`lead_page::kinds::Task`);
//! this folder only reads them.

pub mod api;
pub mod service;
pub mod views;
