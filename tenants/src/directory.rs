//! Resolving bearer credentials to principals, and tenants to their licence facts (cached).

use crate::{
    entities::{company, credential, establishment, platform_user, tenant, tenant_module, user},
    teams::entities::team,
};
use forecourt_core::{
    App, Result,
    access::Tier,
    cache::{CacheKey, Invalidation},
    context::{Authenticated, Principal, TenantInfo, TenantUser},
    ports::directory::{Directory, DirectoryKind, Mailbox},
    secret::token_hash,
    tenancy::{TenantId, TenantScoped},
    uow::AfterCommit,
};
use sea_orm::{
    ColumnTrait, DatabaseExecutor, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    prelude::Expr,
};
use std::{collections::HashMap, time::Duration};
use uuid::Uuid;

/// Credential kinds that authenticate API calls.
pub const SESSION: &str = "session";
/// An integration API key.
pub const API_KEY: &str = "api_key";
/// A single-use invitation to set a password (never authenticates calls).
pub const INVITATION: &str = "invitation";
/// A single-use link to choose a new password (never authenticates calls).
pub const PASSWORD_RESET: &str = "password_reset";

/// How long a node trusts cached tenant facts. With Redis every node shares the cache and a
/// change deletes the key, so the TTL is only a safety net; with the in-process cache, other
/// nodes on the same database (no shared cache) see a change within this bound.
fn tenant_info_ttl(app: &App) -> Duration {
    if app.cache.is_redis() {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(2)
    }
}

/// The `Directory` of the host, over the tenancy tables.
pub struct TenantDirectory;

/// The key of a tenant's facts (named anew whenever `TenantInfo` changes shape, so a node
/// never reads facts cached by an older build).
fn info_key(tenant_id: Uuid) -> CacheKey {
    CacheKey::tenant(tenant_id, "facts:v2")
}

/// Drops a tenant's cached facts everywhere, after a change to its licence, status or toggles
/// made outside a unit of work (the platform's own writes).
pub async fn invalidate_tenant(app: &App, tenant_id: Uuid) {
    app.cache.delete(&info_key(tenant_id)).await;
    app.announce(Invalidation::Tenant { tenant_id }).await;
}

/// What makes every node resolve the credentials of a tenant's users (`None`: of operator and
/// reseller accounts) again: after a logout, a revocation, a deactivation, a change of a
/// user's establishment or of a team's members.
pub fn principals_changed(tenant_id: Option<Uuid>) -> Invalidation {
    Invalidation::Principals { tenant_id }
}

/// A credential with the account it belongs to, as one statement reads it.
#[derive(sea_orm::FromQueryResult)]
struct Resolved {
    kind: String,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    tenant_id: Option<Uuid>,
    user_id: Option<Uuid>,
    user_active: Option<bool>,
    user_establishment_id: Option<Uuid>,
    platform_id: Option<Uuid>,
    platform_reseller_id: Option<Uuid>,
    /// The user's teams, comma-separated (see [`team_ids_expr`]).
    team_ids: Option<String>,
}

/// The teams of the credential's user, as one comma-separated text column of the statement
/// that resolves the credential: the principal carries them without a second round trip.
/// SQLite keeps a UUID as 16 bytes, which goes as hex (which `Uuid::parse_str` reads as well
/// as PostgreSQL's hyphenated text).
fn team_ids_expr(backend: sea_orm::DbBackend) -> Expr {
    let id = if backend == sea_orm::DbBackend::Postgres {
        "string_agg(m.team_id::text, ',')"
    } else {
        "group_concat(hex(m.team_id), ',')"
    };
    Expr::cust(format!(
        "(SELECT {id} FROM team_members m WHERE m.tenant_id = \"credentials\".\"tenant_id\" \
         AND m.user_id = \"credentials\".\"user_id\")"
    ))
}

/// The team ids of [`team_ids_expr`], in id order (unreadable ones skipped).
fn parse_team_ids(text: Option<&str>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| Uuid::parse_str(t.trim()).ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Resolves a bearer credential (by its hash) to its caller in one statement: the credential
/// with its tenant user or platform account joined (the user on the credential's own tenant).
/// Dead, expired and non-bearer credentials and deactivated users resolve to nobody.
async fn resolve(app: &App, hash: &str) -> Result<Option<Authenticated>> {
    use sea_orm::{JoinType, RelationDef, sea_query::Alias};
    let (u, p) = (Alias::new("u"), Alias::new("p"));
    let to_user: RelationDef = credential::Entity::belongs_to(user::Entity)
        .from((credential::Column::TenantId, credential::Column::UserId))
        .to((user::Column::TenantId, user::Column::Id))
        .into();
    let to_platform: RelationDef = credential::Entity::belongs_to(platform_user::Entity)
        .from(credential::Column::PlatformUserId)
        .to(platform_user::Column::Id)
        .into();
    let Some(r) = credential::Entity::find_by_id(hash.to_string())
        .select_only()
        .columns([
            credential::Column::Kind,
            credential::Column::ExpiresAt,
            credential::Column::RevokedAt,
            credential::Column::TenantId,
            credential::Column::UserId,
        ])
        .join_as(JoinType::LeftJoin, to_user, u.clone())
        .join_as(JoinType::LeftJoin, to_platform, p.clone())
        .column_as(Expr::col((u.clone(), user::Column::Active)), "user_active")
        .column_as(
            Expr::col((u, user::Column::EstablishmentId)),
            "user_establishment_id",
        )
        .column_as(
            Expr::col((p.clone(), platform_user::Column::Id)),
            "platform_id",
        )
        .column_as(
            Expr::col((p, platform_user::Column::ResellerId)),
            "platform_reseller_id",
        )
        .column_as(team_ids_expr(app.db.get_database_backend()), "team_ids")
        .into_model::<Resolved>()
        .one(&app.db)
        .await?
    else {
        return Ok(None);
    };
    let now = app.clock.now();
    if r.revoked_at.is_some()
        || r.expires_at.is_some_and(|e| e <= now)
        || !(r.kind == SESSION || r.kind == API_KEY)
    {
        return Ok(None);
    }
    let principal = match (r.platform_id, r.tenant_id, r.user_id, r.user_active) {
        (Some(user_id), _, _, _) => match r.platform_reseller_id {
            Some(reseller_id) => Principal::Reseller {
                reseller_id,
                user_id,
            },
            None => Principal::Operator { user_id },
        },
        (None, Some(tenant_id), Some(user_id), Some(true)) => Principal::Tenant(TenantUser {
            tenant_id,
            user_id,
            establishment_id: r.user_establishment_id,
            team_ids: parse_team_ids(r.team_ids.as_deref()),
        }),
        // No such account any more, or a deactivated user.
        _ => return Ok(None),
    };
    Ok(Some(Authenticated {
        principal,
        token_hash: hash.to_string(),
        via_api_key: r.kind == API_KEY,
    }))
}

/// The same as [`invalidate_tenant`], as the after-commit actions of a unit of work that
/// changed the tenant's facts.
pub fn tenant_changed(tenant_id: Uuid) -> [AfterCommit; 2] {
    [
        AfterCommit::Forget(info_key(tenant_id)),
        AfterCommit::Publish(Invalidation::Tenant { tenant_id }),
    ]
}

/// Reads a tenant's facts from the database.
pub async fn load_tenant_info(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: Uuid,
) -> Result<Option<TenantInfo>> {
    let Some(t) = tenant::Entity::find_by_id(tenant_id).one(db).await? else {
        return Ok(None);
    };
    let disabled = tenant_module::Entity::scoped(&TenantId::new(tenant_id))
        .filter(tenant_module::Column::Enabled.eq(false))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.module)
        .collect();
    let sites = establishment::Entity::scoped(&TenantId::new(tenant_id))
        .select_only()
        .columns([establishment::Column::Id, establishment::Column::CompanyId])
        .into_tuple::<(Uuid, Uuid)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(Some(TenantInfo {
        id: t.id,
        tier: Tier::parse(&t.licence).unwrap_or(Tier::Go),
        suspended: t.status == "suspended",
        disabled_modules: disabled,
        country: t.country,
        language: t.language,
        sites,
    }))
}

#[async_trait::async_trait]
impl Directory<App> for TenantDirectory {
    async fn authenticate(&self, app: &App, bearer: &str) -> Result<Option<Authenticated>> {
        let hash = token_hash(bearer);
        app.principals
            .credential(&hash, app.trust_kept_for(), || resolve(app, &hash))
            .await
    }

    async fn tenant_info(&self, app: &App, tenant_id: Uuid) -> Result<Option<TenantInfo>> {
        app.principals
            .tenant(tenant_id, app.trust_kept_for(), || async {
                let key = info_key(tenant_id);
                if let Some(info) = app.cache.get::<TenantInfo>(&key).await {
                    return Ok(Some(info));
                }
                let info = load_tenant_info(&app.db, tenant_id).await?;
                if let Some(i) = &info {
                    app.cache.set(&key, i, tenant_info_ttl(app)).await;
                }
                Ok(info)
            })
            .await
    }

    async fn exists(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        kind: DirectoryKind,
        id: Uuid,
    ) -> Result<bool> {
        let found = match kind {
            DirectoryKind::User => {
                user::Entity::scoped(&tenant)
                    .filter(user::Column::Id.eq(id))
                    .count(&db)
                    .await?
            }
            DirectoryKind::Establishment => {
                establishment::Entity::scoped(&tenant)
                    .filter(establishment::Column::Id.eq(id))
                    .count(&db)
                    .await?
            }
            DirectoryKind::Company => {
                company::Entity::scoped(&tenant)
                    .filter(company::Column::Id.eq(id))
                    .count(&db)
                    .await?
            }
            DirectoryKind::Team => {
                team::Entity::scoped(&tenant)
                    .filter(team::Column::Id.eq(id))
                    .count(&db)
                    .await?
            }
        };
        Ok(found > 0)
    }

    async fn names(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        kind: DirectoryKind,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = ids.to_vec();
        let rows: Vec<(Uuid, String)> = match kind {
            DirectoryKind::User => {
                user::Entity::scoped(&tenant)
                    .filter(user::Column::Id.is_in(ids))
                    .select_only()
                    .columns([user::Column::Id, user::Column::Name])
                    .into_tuple()
                    .all(&db)
                    .await?
            }
            DirectoryKind::Establishment => {
                establishment::Entity::scoped(&tenant)
                    .filter(establishment::Column::Id.is_in(ids))
                    .select_only()
                    .columns([establishment::Column::Id, establishment::Column::Name])
                    .into_tuple()
                    .all(&db)
                    .await?
            }
            DirectoryKind::Company => {
                company::Entity::scoped(&tenant)
                    .filter(company::Column::Id.is_in(ids))
                    .select_only()
                    .columns([company::Column::Id, company::Column::Name])
                    .into_tuple()
                    .all(&db)
                    .await?
            }
            DirectoryKind::Team => {
                team::Entity::scoped(&tenant)
                    .filter(team::Column::Id.is_in(ids))
                    .select_only()
                    .columns([team::Column::Id, team::Column::Name])
                    .into_tuple()
                    .all(&db)
                    .await?
            }
        };
        Ok(rows.into_iter().collect())
    }

    async fn tenant_name(&self, db: DatabaseExecutor<'_>, tenant: TenantId) -> Result<String> {
        Ok(tenant::Entity::find_by_id(tenant.uuid())
            .one(&db)
            .await?
            .map(|t| t.name)
            .unwrap_or_default())
    }

    async fn mailbox(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        user_id: Uuid,
    ) -> Result<Option<Mailbox>> {
        Ok(user::Entity::scoped(&tenant)
            .filter(user::Column::Id.eq(user_id))
            .filter(user::Column::Active.eq(true))
            .one(&db)
            .await?
            .map(|u| Mailbox {
                email: u.email,
                name: u.name,
            }))
    }

    async fn company_of(
        &self,
        db: DatabaseExecutor<'_>,
        tenant: TenantId,
        establishment_id: Uuid,
    ) -> Result<Option<Uuid>> {
        Ok(establishment::Entity::scoped(&tenant)
            .filter(establishment::Column::Id.eq(establishment_id))
            .one(&db)
            .await?
            .map(|e| e.company_id))
    }

    async fn tenants(&self, db: DatabaseExecutor<'_>) -> Result<Vec<TenantId>> {
        let ids: Vec<Uuid> = tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .into_tuple()
            .all(&db)
            .await?;
        Ok(ids.into_iter().map(TenantId::new).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_ids_read_as_either_backend_writes_them() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        // SQLite: upper-case hex of the 16 bytes; PostgreSQL: hyphenated text.
        let sqlite = format!("{},{}", b.simple().to_string().to_uppercase(), a.simple());
        let pg = format!("{b},{a},{a}");
        assert_eq!(parse_team_ids(Some(&sqlite)), vec![a, b]);
        assert_eq!(parse_team_ids(Some(&pg)), vec![a, b]);
        assert!(parse_team_ids(None).is_empty());
    }
}
