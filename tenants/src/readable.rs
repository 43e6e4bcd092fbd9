//! Which platform records (users, API keys, sites, companies, settings) a caller may read:
//! the activity log shows their entries only to those (see `Module::readable`).

use crate::{
    entities::{api_key, company, establishment, user},
    teams::{entities::team, service as teams},
    users::service::scope_condition,
};
use forecourt_core::{
    App, Result,
    access::{Action, Scope},
    context::TenantUser,
    module::Readable,
    tenancy::TenantScoped,
};
use sea_orm::{ColumnTrait, QueryFilter};

/// The entity types the platform writes to the activity log.
pub const ENTITIES: &[&str] = &[
    "user",
    "api_key",
    "permission",
    "establishment",
    "company",
    "module",
    "team",
];

/// The records of `entity_type` that `caller` may read.
pub async fn readable(app: &App, caller: &TenantUser, entity_type: &str) -> Result<Readable> {
    let object = match entity_type {
        "user" => "users",
        "api_key" => "settings.api_keys",
        "permission" => "permissions",
        "establishment" => "establishments",
        "company" => "companies",
        "module" => "settings.modules",
        "team" => "teams",
        _ => return Ok(Readable::Nothing),
    };
    let Some(scope) = app.authz.scope(caller, object, Action::Read).await? else {
        return Ok(Readable::Nothing);
    };
    Ok(match entity_type {
        "user" => Readable::ids(
            user::Entity::scoped(caller).filter(scope_condition(scope, caller)),
            user::Column::Id,
        ),
        "api_key" => {
            let mut keys = api_key::Entity::scoped(caller);
            if scope != Scope::Tenant {
                keys = keys.filter(api_key::Column::UserId.eq(caller.user_id));
            }
            Readable::ids(keys, api_key::Column::Id)
        }
        "establishment" => Readable::ids(
            establishment::Entity::scoped(caller),
            establishment::Column::Id,
        ),
        "company" => Readable::ids(company::Entity::scoped(caller), company::Column::Id),
        "team" => Readable::ids(
            team::Entity::scoped(caller).filter(teams::reach(caller, scope)),
            team::Column::Id,
        ),
        // Grants and module switches name no deletable record: the object's readers see all.
        _ => Readable::All,
    })
}
