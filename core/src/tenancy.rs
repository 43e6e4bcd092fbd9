//! The tenant as a type. Every tenant table is read through [`TenantScoped`], which takes a
//! [`TenantId`] (never a bare `Uuid`); a request gets its tenant, user and grant scope as one
//! [`Cx`] from the authorizer ([`crate::authz::Authz::context`]). A bare `Entity::find()` on a
//! tenant table is refused by the shape check (`tests/tests/shape.rs`).

use crate::{access::Scope, context::TenantUser};
use sea_orm::{
    ColumnTrait, DeleteMany, EntityTrait, QueryFilter, Select, UpdateMany, sea_query::Value,
};
use uuid::Uuid;

/// A tenant's id. It comes from the authenticated principal (through [`Cx`] or
/// [`TenantUser::tenant`]), from a tenant-bound credential such as a connector's, or from a job
/// that walks the tenants; [`TenantId::new`] is where such a source hands it over.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TenantId(Uuid);

impl TenantId {
    /// The tenant of a row or credential just read from the database.
    pub const fn new(id: Uuid) -> Self {
        Self(id)
    }

    /// The raw id, for a column value or a cache key.
    pub const fn uuid(self) -> Uuid {
        self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<TenantId> for Value {
    fn from(t: TenantId) -> Self {
        t.0.into()
    }
}

/// Anything that knows its tenant: a request context, a unit of work, a tenant user.
pub trait Tenanted {
    /// The tenant everything done through `self` belongs to.
    fn tenant(&self) -> TenantId;
}

impl Tenanted for TenantId {
    fn tenant(&self) -> TenantId {
        *self
    }
}

impl Tenanted for TenantUser {
    fn tenant(&self) -> TenantId {
        TenantId(self.tenant_id)
    }
}

impl<T: Tenanted + ?Sized> Tenanted for &T {
    fn tenant(&self) -> TenantId {
        (**self).tenant()
    }
}

/// A table whose rows belong to one tenant. Its rows are read, changed and deleted only
/// through these constructors, which pin the tenant; implement it with [`tenant_scoped!`].
pub trait TenantScoped: EntityTrait {
    /// The column holding the row's tenant.
    fn tenant_column() -> Self::Column;

    /// The rows of `t`'s tenant.
    fn scoped(t: &impl Tenanted) -> Select<Self> {
        Self::find().filter(Self::tenant_column().eq(t.tenant().uuid()))
    }

    /// The rows of several tenants at once, for the platform's own jobs that serve every
    /// tenant a node holds (e.g. the permission version check); never for a request.
    fn of_tenants(tenants: &[TenantId]) -> Select<Self> {
        Self::find().filter(Self::tenant_column().is_in(tenants.iter().map(|t| t.uuid())))
    }

    /// Rows of any tenant, for the one read that finds out which tenant a request belongs to
    /// when its credential is a tenant row (an inbound connector named by its path, checked by
    /// its signature right after). Every other read starts from a tenant.
    fn across_tenants() -> Select<Self> {
        Self::find()
    }

    /// An update of rows of `t`'s tenant (add the filters that pick the rows).
    fn update_in(t: &impl Tenanted) -> UpdateMany<Self> {
        Self::update_many().filter(Self::tenant_column().eq(t.tenant().uuid()))
    }

    /// A deletion of rows of `t`'s tenant (add the filters that pick the rows).
    fn delete_in(t: &impl Tenanted) -> DeleteMany<Self> {
        Self::delete_many().filter(Self::tenant_column().eq(t.tenant().uuid()))
    }
}

/// Declares entities as tenant tables whose tenant column is `tenant_id`:
/// `tenant_scoped!(contact, contact_email)` for modules `contact` and `contact_email` that
/// hold sea-orm entities.
#[macro_export]
macro_rules! tenant_scoped {
    ($($m:ident),+ $(,)?) => {
        $(impl $crate::tenancy::TenantScoped for $m::Entity {
            fn tenant_column() -> $m::Column {
                $m::Column::TenantId
            }
        })+
    };
}

/// One request's tenant context: the tenant, the user and the scope of the grant that let the
/// user do this. It is only made by [`crate::authz::Authz::context`], after the check; data
/// functions take it instead of a tenant id and a scope passed along by hand.
#[derive(Debug, Clone)]
pub struct Cx {
    user: TenantUser,
    scope: Scope,
}

impl Cx {
    /// The context the authorizer grants (see [`crate::authz::Authz::context`]), or that a job
    /// acts under on behalf of a user.
    pub(crate) fn granted(user: TenantUser, scope: Scope) -> Self {
        Self { user, scope }
    }

    /// The caller.
    pub fn user(&self) -> &TenantUser {
        &self.user
    }

    /// The caller's id.
    pub fn user_id(&self) -> Uuid {
        self.user.user_id
    }

    /// The caller's establishment, for establishment-scoped grants.
    pub fn establishment_id(&self) -> Option<Uuid> {
        self.user.establishment_id
    }

    /// The scope of the grant for the checked object and action.
    pub fn scope(&self) -> Scope {
        self.scope
    }
}

impl Tenanted for Cx {
    fn tenant(&self) -> TenantId {
        self.user.tenant()
    }
}
