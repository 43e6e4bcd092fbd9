//! The CRM's own reports (the pipeline), and what it answers to other modules' reports about
//! its opportunities (lead sources).

pub mod api;
pub mod lead_sources;
pub mod pipeline;
