//! What a module may ask of another, as traits that the owning module implements. A module
//! never names another module's tables or imports its entities: it asks here.
//!
//! The traits are generic over the application state `A` (always [`crate::App`]) where they
//! need it, so that the state can hold them without this folder depending on it.

pub mod contacts;
pub mod directory;
pub mod lead_sources;
pub mod leads;
pub mod opportunity_facts;
pub mod statuses;
pub mod teams;

use std::sync::Arc;

/// Every port, in one place on the application state, so the host does not grow a field per
/// module.
pub struct Ports<A: Sync> {
    /// Credentials, tenants, users, establishments and companies (the `tenants` crate).
    pub directory: Arc<dyn directory::Directory<A>>,
    /// The contact store (`crm`).
    pub contacts: Arc<dyn contacts::ContactPort<A>>,
    /// The CRM's intake of leads from partners (`crm`).
    pub leads: Arc<dyn leads::LeadPort<A>>,
    /// The lead sources (`sources`): a connector's source is checked or created here.
    pub lead_sources: Arc<dyn lead_sources::LeadSources>,
    /// Every module's records that refer to lead sources (asked before one is deleted).
    pub lead_source_users: Vec<Arc<dyn lead_sources::LeadSourceUsers>>,
    /// Figures about opportunities for reports of other modules (`crm`).
    pub opportunity_facts: Arc<dyn opportunity_facts::OpportunityFacts<A>>,
    /// Each tenant's statuses and the moves between them (`statuses`, else the fixed sets).
    pub statuses: Arc<dyn statuses::Statuses<A>>,
    /// Every module's records that carry a status (asked before a status is archived).
    pub status_holders: Vec<Arc<dyn statuses::StatusHolders<A>>>,
    /// Every module's records assigned to a team (asked before a team is deleted).
    pub team_users: Vec<Arc<dyn teams::TeamUsers>>,
}
