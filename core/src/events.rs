//! Things that happen in core that modules react to.

use crate::access::Tier;
use uuid::Uuid;

/// Things that happen in core that modules may react to, inside the transaction that caused
/// them (so a module's failure rolls the whole change back).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A tenant was onboarded; modules seed their defaults.
    TenantCreated {
        /// The new tenant.
        tenant_id: Uuid,
        /// Its licence tier.
        tier: Tier,
    },
    /// Contacts were merged into `survivor`; modules move their records from `merged`.
    ContactsMerged {
        /// The tenant.
        tenant_id: Uuid,
        /// The contact that remains.
        survivor: Uuid,
        /// The contacts that were folded into it.
        merged: Vec<Uuid>,
    },
    /// A prospect became a customer (its status moved to a won one, or `convert`), in the
    /// transaction that converted it.
    ContactConverted {
        /// The tenant.
        tenant_id: Uuid,
        /// The contact, now a customer.
        contact_id: Uuid,
        /// The won prospect status it moved to.
        status: String,
    },
}
