//! Who an opportunity may be assigned to by whom: the reach a writer keeps (owner, team or
//! establishment), the team an assignment names, and the opportunities a team still holds.

use crate::opportunities::entities::opportunity;
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result,
    access::Scope,
    ports::directory::DirectoryKind,
    tenancy::{Cx, TenantId, TenantScoped, Tenanted},
};
use sea_orm::{ColumnTrait, ConnectionTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

/// Whether an opportunity assigned to `user` and `team` at `establishment` stays within the
/// reach of the grant of `cx`. At own scope a team is given only if it is one of the
/// caller's, or kept as it was (`kept_team`), so nobody hands work to a team they are not in.
pub(crate) fn within(
    cx: &Cx,
    user: Option<Uuid>,
    team: Option<Uuid>,
    kept_team: Option<Uuid>,
    establishment: Option<Uuid>,
) -> bool {
    match cx.scope() {
        Scope::Tenant => true,
        Scope::Establishment => establishment.is_some() && establishment == cx.establishment_id(),
        Scope::Own => {
            let mine = |t: Uuid| cx.user().in_team(t);
            team.is_none_or(|t| mine(t) || Some(t) == kept_team)
                && (user == Some(cx.user_id()) || team.is_some_and(mine))
        }
    }
}

/// 422 on `field` unless `team` is a team of the tenant (one of the caller's is known
/// without a statement: the principal carries them).
pub(crate) async fn check_team(app: &App, cx: &Cx, field: &str, team: Option<Uuid>) -> Result<()> {
    let Some(t) = team else { return Ok(()) };
    if cx.user().in_team(t)
        || app
            .ports
            .directory
            .exists((&app.db).into(), cx.tenant(), DirectoryKind::Team, t)
            .await?
    {
        return Ok(());
    }
    Err(Error::invalid(field, msg!("not a team of this tenant")))
}

/// How many opportunities are assigned to a team.
async fn count_of_team(conn: &impl ConnectionTrait, t: TenantId, team_id: Uuid) -> Result<u64> {
    Ok(opportunity::Entity::scoped(&t)
        .filter(opportunity::Column::AssignedTeamId.eq(team_id))
        .count(conn)
        .await?)
}

/// Opportunities as records assigned to teams: a team still holding some cannot be deleted.
pub struct OpportunityTeams;

#[async_trait::async_trait]
impl forecourt_core::ports::teams::TeamUsers for OpportunityTeams {
    fn kind(&self) -> &'static str {
        "opportunities"
    }

    async fn count(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant_id: Uuid,
        team_id: Uuid,
    ) -> Result<u64> {
        count_of_team(txn, TenantId::new(tenant_id), team_id).await
    }
}
