//! What the CRM answers to other modules' reports about its opportunities.

pub mod lead_sources;
