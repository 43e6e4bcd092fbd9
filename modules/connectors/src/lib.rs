//! Media connectors: partners (classified sites, lead routers, the dealer's website) push leads
//! as ADF/XML or as our JSON lead format; each prospect lands as a contact and an opportunity.
//! Expert tier.
//!
//! One folder per resource: `connectors/` (configuration and secrets), `deliveries/` (the
//! delivery log and replays), `inbound/` (the partners' endpoint and intake). The formats
//! are `lead` (the document intake reads) and `adf` (its ADF/XML parser); `signature` checks
//! Standard Webhooks signatures.

use poem_openapi::{
    OpenApi,
    registry::{MetaApi, Registry},
};
use std::collections::HashMap;

pub mod adf;
pub mod connectors;
pub mod deliveries;
pub mod inbound;
pub mod lead;
pub mod module;
pub mod signature;

pub use connectors::port::ConnectorSources;
pub use inbound::api::InboundApi;
pub use module::{ConnectorsModule, MODULE_ID};

/// The dealer's side: connectors and their delivery logs, one API for the host.
pub struct ConnectorsApi;

type DealerApis = (
    connectors::api::ConnectorConfigApi,
    deliveries::api::DeliveriesApi,
);

impl OpenApi for ConnectorsApi {
    fn meta() -> Vec<MetaApi> {
        DealerApis::meta()
    }

    fn register(registry: &mut Registry) {
        DealerApis::register(registry);
    }

    fn add_routes(
        self,
        route_table: &mut HashMap<
            String,
            HashMap<poem::http::Method, poem::endpoint::BoxEndpoint<'static>>,
        >,
    ) {
        (
            connectors::api::ConnectorConfigApi,
            deliveries::api::DeliveriesApi,
        )
            .add_routes(route_table);
    }
}
