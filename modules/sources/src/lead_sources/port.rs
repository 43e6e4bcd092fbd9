//! The lead sources as other modules ask for them ([`LeadSources`]).

use super::{entities::lead_source, service};
use chrono::{DateTime, Utc};
use forecourt_core::{
    Error, Result,
    ports::lead_sources::{FoundSource, LeadSourceFacts, LeadSources},
    tenancy::TenantId,
};
use sea_orm::DatabaseExecutor;
use uuid::Uuid;

/// The `sources` module's answer to [`LeadSources`].
pub struct Sources;

fn facts(m: lead_source::Model) -> LeadSourceFacts {
    LeadSourceFacts {
        id: m.id,
        name: m.name,
        active: m.active,
    }
}

#[async_trait::async_trait]
impl LeadSources for Sources {
    async fn get(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<LeadSourceFacts>> {
        match service::get(&db, &tenant, id).await {
            Ok(m) => Ok(Some(facts(m))),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn find_or_create(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        name: &str,
        created_by: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<FoundSource> {
        let name = service::clean_name(name)?;
        if let Some(found) = service::find_by_name(&db, &tenant, &name).await? {
            return Ok(FoundSource {
                source: facts(found),
                created: false,
            });
        }
        let m = service::insert(&db, tenant, created_by, &name, now).await?;
        Ok(FoundSource {
            source: facts(m),
            created: true,
        })
    }
}
