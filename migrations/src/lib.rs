//! The schema of Forecourt: one migration set that runs on SQLite and PostgreSQL.
//!
//! Every tenant table carries a NOT NULL `tenant_id` with a foreign key to `tenants`, leading
//! its primary key and every unique and secondary index, so the schema can be distributed by
//! tenant. References between tenant tables are composite `(tenant_id, x_id)` foreign keys:
//! a row can never point at another tenant's row, whatever the application does.

pub use sea_orm_migration::prelude::*;

mod m0001_platform;
mod m0002_sources;
mod m0003_permission_seeds;
mod m0004_contacts;
mod m0005_opportunities;
mod m0006_opportunity_actions;
mod m0007_contact_language;
mod m0008_connectors;
mod m0009_report_indexes;
mod m0011_term_modules;
mod m0012_search_index;
mod m0013_status_history;
mod m0014_statuses;
mod m0015_teams;
mod m0016_prospect_status;
mod m0017_idempotency;
mod m0018_money_and_trim;
mod m0019_list_indexes;
pub mod testing;
mod util;

/// The migration set.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_platform::Migration),
            Box::new(m0002_sources::Migration),
            Box::new(m0003_permission_seeds::Migration),
            Box::new(m0004_contacts::Migration),
            Box::new(m0005_opportunities::Migration),
            Box::new(m0006_opportunity_actions::Migration),
            Box::new(m0007_contact_language::Migration),
            Box::new(m0008_connectors::Migration),
            Box::new(m0009_report_indexes::Migration),
            Box::new(m0011_term_modules::Migration),
            Box::new(m0012_search_index::Migration),
            Box::new(m0013_status_history::Migration),
            Box::new(m0014_statuses::Migration),
            Box::new(m0015_teams::Migration),
            Box::new(m0016_prospect_status::Migration),
            Box::new(m0017_idempotency::Migration),
            Box::new(m0018_money_and_trim::Migration),
            Box::new(m0019_list_indexes::Migration),
        ]
    }
}
