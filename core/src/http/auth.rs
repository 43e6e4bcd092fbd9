//! The security schemes operations declare: who may call them, checked against the principal
//! the host middleware resolved from the bearer token.

use crate::msg;
use crate::{
    Error,
    context::{Authenticated, Principal, TenantUser},
};
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

fn authenticated(req: &Request) -> poem::Result<Authenticated> {
    req.extensions()
        .get::<Authenticated>()
        .cloned()
        .ok_or_else(|| Error::Unauthorized.into())
}

/// Any authenticated caller: operator, reseller or tenant user.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", checker = "any_checker")]
pub struct Auth(pub Authenticated);

async fn any_checker(req: &Request, _b: Bearer) -> poem::Result<Authenticated> {
    authenticated(req)
}

/// A user of a tenant (or an API key acting as one). Operators and resellers get 403: they
/// manage tenants, never their data.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", checker = "tenant_checker")]
pub struct TenantAuth(pub TenantUser);

async fn tenant_checker(req: &Request, _b: Bearer) -> poem::Result<TenantUser> {
    match authenticated(req)?.principal {
        Principal::Tenant(u) => Ok(u),
        _ => Err(Error::Forbidden {
            kind: "tenant_user_required",
            detail: msg!("this operation is for users of a tenant"),
            extra: None,
        }
        .into()),
    }
}

impl TenantAuth {
    /// The tenant of the caller.
    pub fn tenant_id(&self) -> Uuid {
        self.0.tenant_id
    }
}

/// The operator or a reseller.
#[derive(SecurityScheme)]
#[oai(rename = "bearer", ty = "bearer", checker = "platform_checker")]
pub struct PlatformAuth(pub Principal);

async fn platform_checker(req: &Request, _b: Bearer) -> poem::Result<Principal> {
    match authenticated(req)?.principal {
        p @ (Principal::Operator { .. } | Principal::Reseller { .. }) => Ok(p),
        Principal::Tenant(_) => {
            Err(Error::forbidden(msg!("this operation is for the operator and resellers")).into())
        }
    }
}
