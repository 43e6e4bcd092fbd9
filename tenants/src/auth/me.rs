//! Who the caller is: the answer of `/me`.

use crate::{
    auth::{
        accounts::tenant_user,
        views::{Me, MeReseller, MeTenant, UserBrief},
    },
    entities::{platform_user, reseller, tenant},
};
use forecourt_core::{App, Error, Result, authz, context::Principal};
use sea_orm::EntityTrait;

/// The caller, with their tenant or reseller, roles and enabled modules.
pub(crate) async fn me(app: &App, principal: &Principal) -> Result<Me> {
    match principal {
        Principal::Operator { user_id } | Principal::Reseller { user_id, .. } => {
            let p = platform_user::Entity::find_by_id(*user_id)
                .one(&app.db)
                .await?
                .ok_or(Error::Unauthorized)?;
            let reseller = match p.reseller_id {
                Some(rid) => reseller::Entity::find_by_id(rid)
                    .one(&app.db)
                    .await?
                    .map(|r| MeReseller {
                        id: r.id,
                        name: r.name,
                    }),
                None => None,
            };
            Ok(Me {
                kind: if reseller.is_some() {
                    "reseller"
                } else {
                    "operator"
                }
                .into(),
                user: UserBrief {
                    id: p.id,
                    email: p.email,
                    name: p.name,
                },
                tenant: None,
                reseller,
                roles: vec![],
                modules: vec![],
            })
        }
        Principal::Tenant(tu) => {
            let u = tenant_user(&app.db, tu.tenant_id, tu.user_id)
                .await?
                .ok_or(Error::Unauthorized)?;
            let t = tenant::Entity::find_by_id(tu.tenant_id)
                .one(&app.db)
                .await?
                .ok_or(Error::Unauthorized)?;
            let info = app
                .ports
                .directory
                .tenant_info(app, tu.tenant_id)
                .await?
                .ok_or(Error::Unauthorized)?;
            let modules = app
                .registry
                .available(Some(&info))
                .map(|m| m.id().to_string())
                .collect();
            Ok(Me {
                kind: "tenant".into(),
                user: UserBrief {
                    id: u.id,
                    email: u.email,
                    name: u.name,
                },
                tenant: Some(MeTenant {
                    id: t.id,
                    name: t.name,
                    licence: info.tier,
                    country: t.country,
                    language: t.language,
                }),
                reseller: None,
                roles: authz::user_roles(&app.db, tu.tenant_id, tu.user_id).await?,
                modules,
            })
        }
    }
}
