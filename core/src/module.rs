//! The module host: what a module declares, and the registry the binary assembles.
//!
//! poem-openapi combines APIs only as compile-time tuples, so a module's operations are mounted
//! by the binary; what the registry knows at run time is which path prefixes each module owns.
//! Licence gating is therefore one per-request middleware that maps the path to its module.

use crate::{Result, app::App, context::TenantInfo};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// A licence tier. Each module declares the tiers that include it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Tier {
    /// The entry tier: CRM essentials.
    Go,
    /// Every module.
    Expert,
}

impl Tier {
    /// The tier's key as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Go => "go",
            Tier::Expert => "expert",
        }
    }

    /// Parses a stored key.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "go" => Some(Tier::Go),
            "expert" => Some(Tier::Expert),
            _ => None,
        }
    }
}

/// An action a grant allows. `admin` implies the others on the same object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Action {
    /// See records.
    Read,
    /// Create and change records.
    Write,
    /// Delete records.
    Delete,
    /// Everything on the object, including settings.
    Admin,
}

impl Action {
    /// The action's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Admin => "admin",
        }
    }
    /// Parses a key.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Action::Read),
            "write" => Some(Action::Write),
            "delete" => Some(Action::Delete),
            "admin" => Some(Action::Admin),
            _ => None,
        }
    }
}

/// How far a grant reaches. Ordered: `Own < Establishment < Tenant`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Scope {
    /// Records the user owns (or the user themself).
    Own,
    /// Records of the user's establishment.
    Establishment,
    /// Every record of the tenant.
    Tenant,
}

impl Scope {
    /// The scope's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Establishment => "establishment",
            Scope::Tenant => "tenant",
        }
    }
    /// Parses a key.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "own" => Some(Scope::Own),
            "establishment" => Some(Scope::Establishment),
            "tenant" => Some(Scope::Tenant),
            _ => None,
        }
    }
}

/// The built-in roles every tenant starts with.
pub const BUILTIN_ROLES: &[&str] = &["admin", "manager", "salesperson", "receptionist"];

/// A grant given to a built-in role when a tenant is created.
#[derive(Debug, Clone, Copy)]
pub struct DefaultGrant {
    /// Built-in role name.
    pub role: &'static str,
    /// Granted action.
    pub action: Action,
    /// Granted scope.
    pub scope: Scope,
}

/// A permission object a module defines (e.g. `settings.sources`), with its default grants.
/// The `admin` role always receives `admin` at tenant scope on every object.
#[derive(Debug, Clone, Copy)]
pub struct PermissionObject {
    /// The object's name, used in grants.
    pub name: &'static str,
    /// What it protects, shown to the tenant admin.
    pub description: &'static str,
    /// Grants given to the non-admin built-in roles.
    pub defaults: &'static [DefaultGrant],
}

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
}

/// A feature module. Implemented once per crate under `modules/` (and by `tenants`), listed in
/// the registry the binary builds.
#[async_trait::async_trait]
pub trait Module: Send + Sync + 'static {
    /// Stable identifier, e.g. `sources`. Used in toggles, errors and permission docs.
    fn id(&self) -> &'static str;
    /// Human name for the settings screen.
    fn name(&self) -> &'static str;
    /// The licence tiers that include this module.
    fn tiers(&self) -> &'static [Tier];
    /// Modules that must be registered (and enabled) for this one to work.
    fn depends_on(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether a tenant admin may switch it off (the platform itself cannot be).
    fn can_be_disabled(&self) -> bool {
        true
    }
    /// Path prefixes of the API this module serves (e.g. `/api/v1/lead-sources`, or
    /// `/api/v1/contacts/*/consents` where `*` stands for one path segment). Requests under
    /// them are gated by licence and toggle before they reach the handler; the most specific
    /// prefix wins.
    fn api_prefixes(&self) -> &'static [&'static str];
    /// Paths (with `*` standing for one segment, matched as prefixes like
    /// [`Module::api_prefixes`]) that take file uploads: their bodies may be as large as
    /// `max_upload_bytes` instead of `max_body_bytes`.
    fn upload_paths(&self) -> &'static [&'static str] {
        &[]
    }
    /// The permission objects the module defines.
    fn permission_objects(&self) -> &'static [PermissionObject] {
        &[]
    }
    /// Mail templates this module sends, as `(name, source)` pairs named
    /// `<template>.<lang>.<subject|txt|html>` for every language of [`crate::mail::LANGUAGES`].
    fn mail_templates(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// Reacts to a core event inside the transaction that raised it.
    async fn on_event(&self, _app: &App, _txn: &DatabaseTransaction, _event: &Event) -> Result<()> {
        Ok(())
    }
    /// The entity types this module writes to the activity log (e.g. `contact`). Their
    /// entries are shown to a caller who is not an `activity` admin only where
    /// [`Module::readable`] admits the record; entries of types no available module claims
    /// are shown to `activity` admins only.
    fn activity_entities(&self) -> &'static [&'static str] {
        &[]
    }
    /// Which records of `entity_type` (one of [`Module::activity_entities`]) `user` may read,
    /// with the same scopes and sharing as the module's own reads: their history is visible
    /// exactly to those who may read the record.
    async fn readable(
        &self,
        _app: &App,
        _user: &crate::context::TenantUser,
        _entity_type: &str,
    ) -> Result<crate::activity::Readable> {
        Ok(crate::activity::Readable::Nothing)
    }
    /// Extra search terms this module holds for a contact (e.g. a fleet code), indexed by the
    /// contact search whenever the contact is (re)indexed.
    async fn contact_terms(
        &self,
        _app: &App,
        _txn: &DatabaseTransaction,
        _tenant_id: Uuid,
        _contact_id: Uuid,
    ) -> Result<Vec<String>> {
        Ok(vec![])
    }
    /// This module's part of a contact read, shown as `extensions.<module id>` when the module
    /// is available to the tenant.
    async fn contact_extension(
        &self,
        _app: &App,
        _txn: &DatabaseTransaction,
        _tenant_id: Uuid,
        _contact_id: Uuid,
    ) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
}

/// What other modules may ask of the contact store without depending on the `crm` crate.
#[async_trait::async_trait]
pub trait ContactPort: Send + Sync + 'static {
    /// Whether the contact exists in the tenant and lies within `scope` for `user` (own =
    /// assigned to the user, establishment = assigned within the user's establishment).
    async fn visible(
        &self,
        txn: &DatabaseTransaction,
        user: &crate::context::TenantUser,
        contact_id: Uuid,
        scope: Scope,
    ) -> Result<bool>;
    /// Rebuilds a contact's search terms (after a module changed what it contributes), inside
    /// the caller's transaction. Call [`ContactPort::changed`] once it has committed.
    async fn reindex(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        contact_id: Uuid,
    ) -> Result<()>;
    /// Tells the contact store that the tenant's contacts changed in a transaction that has
    /// now committed: its cached searches go stale. Called after the commit, never before, so
    /// a search running in between cannot be cached without the change.
    async fn changed(&self, app: &App, tenant_id: Uuid);
}

/// A lead arriving from outside the tenant's users (a partner's connector), in the CRM's
/// terms. The connectors module fills it from ADF or JSON; the CRM decides which contact and
/// which opportunity it lands on.
#[derive(Debug, Clone, Default)]
pub struct InboundLead {
    /// When it arrived: the expiry rule is evaluated at this instant.
    pub received_at: DateTime<Utc>,
    /// Who sent it, for notes and the activity log (`AutoScout24`, `mobile.de`).
    pub origin: String,
    /// The lead source a new opportunity gets.
    pub source_id: Option<Uuid>,
    /// The establishment a new contact and opportunity belong to.
    pub establishment_id: Option<Uuid>,
    /// The customer.
    pub contact: InboundContact,
    /// Text for the opportunity's customer information (the customer's words, the timeframe,
    /// whatever the partner sent that has no field of its own).
    pub note: Option<String>,
    /// Vehicles the customer is interested in.
    pub vehicles: Vec<InboundVehicle>,
    /// Vehicles the customer offers (trade-in or sale).
    pub trade_ins: Vec<InboundVehicle>,
    /// A follow-up to plan: deadline and reason.
    pub follow_up: Option<(DateTime<Utc>, String)>,
}

/// The customer of an inbound lead, as sent (the CRM normalises and validates it).
#[derive(Debug, Clone, Default)]
pub struct InboundContact {
    /// First name.
    pub first_name: Option<String>,
    /// Last name (or the whole name when the partner does not split it).
    pub last_name: Option<String>,
    /// A business name: the lead is a company's.
    pub company_name: Option<String>,
    /// Emails, preferred first.
    pub emails: Vec<String>,
    /// Phones as written, preferred first.
    pub phones: Vec<String>,
    /// Street, postal code, city, country (ISO alpha-2), when given.
    pub address: Option<[Option<String>; 4]>,
    /// Language or locale.
    pub language: Option<String>,
}

/// A vehicle of an inbound lead.
#[derive(Debug, Clone, Default)]
pub struct InboundVehicle {
    /// `buy`, `lease`, `test_drive`, `trade_in` or `sell`.
    pub interest: String,
    /// Make.
    pub make: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Trim or version.
    pub trim: Option<String>,
    /// Model year.
    pub year: Option<i32>,
    /// VIN: a vehicle of interest with a VIN in stock is linked to it.
    pub vin: Option<String>,
    /// `new` or `used`.
    pub condition: Option<String>,
    /// Odometer in km.
    pub mileage_km: Option<i64>,
    /// Asked or quoted price (vehicle of interest) or appraisal (trade-in), in euros.
    pub amount: Option<f64>,
    /// Free text.
    pub comments: Option<String>,
}

/// What became of an inbound lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadLanded {
    /// The contact it was matched to or created as.
    pub contact_id: Uuid,
    /// The opportunity it opened or was merged into.
    pub opportunity_id: Uuid,
    /// `true` when merged into the contact's open opportunity, `false` when a new one opened.
    pub merged: bool,
}

/// What the connectors module may ask of the CRM without depending on the `crm` crate.
#[async_trait::async_trait]
pub trait LeadPort: Send + Sync + 'static {
    /// Lands a lead inside `txn`: matches the contact by normalised email, then phone, within
    /// the tenant (or creates a prospect), refuses a blocked contact (422 `contact_blocked`) or
    /// a lead without a usable email or phone (422 `contact_unreachable`), then merges into
    /// the contact's open opportunity unless it has expired at `received_at`, or opens one.
    async fn land(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        lead: &InboundLead,
    ) -> Result<LeadLanded>;
}

/// Records of one module that point at a lead source, counted for the `sources` module, which
/// owns lead sources but not what refers to them (crm's opportunities, connectors'
/// connectors). Before deleting a source it asks every implementation, so a source in use is
/// refused with a 409 naming its users instead of tripping a foreign key.
#[async_trait::async_trait]
pub trait LeadSourceUsers: Send + Sync + 'static {
    /// The kind of record counted, as named in the problem's `used_by` (`opportunities`).
    fn kind(&self) -> &'static str;
    /// How many of the tenant's records refer to `source_id`, read inside the caller's
    /// transaction (the one that would delete the source).
    async fn count(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        source_id: Uuid,
    ) -> Result<u64>;
}

/// Why the registry could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// Two modules share an id.
    #[error("module `{0}` is registered twice")]
    Duplicate(&'static str),
    /// A module depends on one that is not registered.
    #[error("module `{module}` depends on `{missing}`, which is not registered")]
    MissingDependency {
        /// The module with the dependency.
        module: &'static str,
        /// The dependency that is missing.
        missing: &'static str,
    },
    /// Two modules claim the same API prefix.
    #[error("API prefix `{0}` is claimed by two modules")]
    PrefixClash(&'static str),
}

/// Why a module is unavailable to a tenant.
#[derive(Debug, Clone, Copy)]
enum Blocker {
    /// Its licence tier does not include it.
    NotLicensed,
    /// The tenant admin switched it off.
    Disabled,
}

/// The modules compiled into this binary, checked for consistency at startup.
pub struct Registry {
    modules: Vec<Box<dyn Module>>,
    by_id: HashMap<&'static str, usize>,
    /// Most specific first: more segments, then fewer wildcards, so
    /// `/api/v1/contacts/*/consents` wins over `/api/v1/contacts`.
    prefixes: Vec<(&'static str, usize)>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.modules.iter().map(|m| m.id()))
            .finish()
    }
}

impl Registry {
    /// Builds the registry; fails on a duplicate id, a missing dependency or a prefix clash.
    pub fn new(modules: Vec<Box<dyn Module>>) -> Result<Self, RegistryError> {
        let mut by_id = HashMap::new();
        for (i, m) in modules.iter().enumerate() {
            if by_id.insert(m.id(), i).is_some() {
                return Err(RegistryError::Duplicate(m.id()));
            }
        }
        for m in &modules {
            for dep in m.depends_on() {
                if !by_id.contains_key(dep) {
                    return Err(RegistryError::MissingDependency {
                        module: m.id(),
                        missing: dep,
                    });
                }
            }
        }
        let mut prefixes = Vec::new();
        for (i, m) in modules.iter().enumerate() {
            for p in m.api_prefixes() {
                if prefixes.iter().any(|(q, _)| q == p) {
                    return Err(RegistryError::PrefixClash(p));
                }
                prefixes.push((*p, i));
            }
        }
        prefixes.sort_by_key(|(p, _)| {
            let segs: Vec<&str> = segments(p).collect();
            (
                std::cmp::Reverse(segs.len()),
                segs.iter().filter(|s| **s == "*").count(),
            )
        });
        Ok(Self {
            modules,
            by_id,
            prefixes,
        })
    }

    /// Every module, in registration order.
    pub fn modules(&self) -> impl Iterator<Item = &dyn Module> {
        self.modules.iter().map(|m| m.as_ref())
    }

    /// The module with this id.
    pub fn get(&self, id: &str) -> Option<&dyn Module> {
        self.by_id.get(id).map(|&i| self.modules[i].as_ref())
    }

    /// The module that serves `path`, if any.
    pub fn module_for_path(&self, path: &str) -> Option<&dyn Module> {
        // Segment by segment, `*` standing for any one segment; the list is sorted most
        // specific first, so the first pattern that matches wins.
        self.prefixes
            .iter()
            .find(|(p, _)| matches(p, path))
            .map(|&(_, i)| self.modules[i].as_ref())
    }

    /// Whether `path` takes file uploads (see [`Module::upload_paths`]).
    pub fn is_upload(&self, path: &str) -> bool {
        self.modules
            .iter()
            .flat_map(|m| m.upload_paths())
            .any(|p| matches(p, path))
    }

    /// Every permission object of every module.
    pub fn permission_objects(&self) -> impl Iterator<Item = &'static PermissionObject> + '_ {
        self.modules
            .iter()
            .flat_map(|m| m.permission_objects().iter())
    }

    /// The module that defines a permission object.
    pub fn object_owner(&self, object: &str) -> Option<&dyn Module> {
        self.modules()
            .find(|m| m.permission_objects().iter().any(|o| o.name == object))
    }

    /// Whether `module` is available to a tenant of `tier` with the given switched-off modules:
    /// `Ok` or the 403 the request gets. A dependency that is unavailable makes the module
    /// unavailable too.
    pub fn check_available(
        &self,
        module: &dyn Module,
        tier: Tier,
        disabled: &[String],
    ) -> Result<()> {
        let Some((module, why)) = self.blocker(module, tier, disabled) else {
            return Ok(());
        };
        Err(match why {
            Blocker::NotLicensed => crate::Error::Forbidden {
                kind: "module_not_licensed",
                detail: format!(
                    "the module `{}` is not included in the `{}` licence; it is included in: {}",
                    module.id(),
                    tier.as_str(),
                    module
                        .tiers()
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                extra: Some(serde_json::json!({
                    "module": module.id(),
                    "tiers": module.tiers().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                })),
            },
            Blocker::Disabled => crate::Error::Forbidden {
                kind: "module_disabled",
                detail: format!(
                    "the module `{}` is switched off for this tenant",
                    module.id()
                ),
                extra: Some(serde_json::json!({ "module": module.id() })),
            },
        })
    }

    /// Whether `module` is available to the tenant `info` describes: the rule of
    /// [`Registry::check_available`], without building its problem (search, reindexing and
    /// contact reads ask it for every module). An unknown tenant (`None`) has no module.
    pub fn is_available(&self, module: &dyn Module, info: Option<&TenantInfo>) -> bool {
        info.is_some_and(|i| self.blocker(module, i.tier, &i.disabled_modules).is_none())
    }

    /// The modules available to the tenant `info` describes, in registration order.
    pub fn available<'a>(
        &'a self,
        info: Option<&'a TenantInfo>,
    ) -> impl Iterator<Item = &'a dyn Module> + 'a {
        self.modules().filter(move |m| self.is_available(*m, info))
    }

    /// The module (`module` or one of its dependencies) that makes `module` unavailable, and
    /// why; `None` when it is available.
    fn blocker<'a>(
        &'a self,
        module: &'a dyn Module,
        tier: Tier,
        disabled: &[String],
    ) -> Option<(&'a dyn Module, Blocker)> {
        if !module.tiers().contains(&tier) {
            return Some((module, Blocker::NotLicensed));
        }
        if disabled.iter().any(|d| d == module.id()) {
            return Some((module, Blocker::Disabled));
        }
        module
            .depends_on()
            .iter()
            .filter_map(|dep| self.get(dep))
            .find_map(|d| self.blocker(d, tier, disabled))
    }

    /// Delivers an event to every module, in registration order, inside `txn`.
    pub async fn dispatch(
        &self,
        app: &App,
        txn: &DatabaseTransaction,
        event: &Event,
    ) -> Result<()> {
        for m in &self.modules {
            m.on_event(app, txn, event).await?;
        }
        Ok(())
    }
}

/// Whether `path` starts with `pattern`, segment by segment, `*` standing for any one segment.
fn matches(pattern: &str, path: &str) -> bool {
    let mut given = segments(path);
    segments(pattern).all(|want| given.next().is_some_and(|s| want == "*" || want == s))
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct M(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );
    impl Module for M {
        fn id(&self) -> &'static str {
            self.0
        }
        fn name(&self) -> &'static str {
            self.0
        }
        fn tiers(&self) -> &'static [Tier] {
            &[Tier::Expert]
        }
        fn depends_on(&self) -> &'static [&'static str] {
            self.1
        }
        fn api_prefixes(&self) -> &'static [&'static str] {
            self.2
        }
    }

    #[test]
    fn duplicate_and_missing_dependency_fail() {
        let dup = Registry::new(vec![Box::new(M("a", &[], &[])), Box::new(M("a", &[], &[]))]);
        assert_eq!(dup.err(), Some(RegistryError::Duplicate("a")));
        let missing = Registry::new(vec![Box::new(M("a", &["b"], &[]))]);
        assert_eq!(
            missing.err(),
            Some(RegistryError::MissingDependency {
                module: "a",
                missing: "b"
            })
        );
    }

    #[test]
    fn longest_prefix_wins_and_boundaries_hold() {
        let r = Registry::new(vec![
            Box::new(M("reports", &[], &["/api/v1/reports"])),
            Box::new(M(
                "sources",
                &[],
                &["/api/v1/reports/lead-sources", "/api/v1/lead-sources"],
            )),
        ])
        .unwrap();
        assert_eq!(
            r.module_for_path("/api/v1/reports/lead-sources")
                .unwrap()
                .id(),
            "sources"
        );
        assert_eq!(
            r.module_for_path("/api/v1/reports/other").unwrap().id(),
            "reports"
        );
        assert_eq!(
            r.module_for_path("/api/v1/lead-sources/x").unwrap().id(),
            "sources"
        );
        assert!(r.module_for_path("/api/v1/lead-sourcesx").is_none());
    }

    #[test]
    fn wildcard_segments_are_more_specific_than_their_parent() {
        let r = Registry::new(vec![
            Box::new(M("crm", &[], &["/api/v1/contacts"])),
            Box::new(M("optins", &[], &["/api/v1/contacts/*/consents"])),
        ])
        .unwrap();
        assert_eq!(
            r.module_for_path("/api/v1/contacts/abc/consents")
                .unwrap()
                .id(),
            "optins"
        );
        assert_eq!(
            r.module_for_path("/api/v1/contacts/abc").unwrap().id(),
            "crm"
        );
        assert_eq!(
            r.module_for_path("/api/v1/contacts/abc/merge")
                .unwrap()
                .id(),
            "crm"
        );
        assert_eq!(r.module_for_path("/api/v1/contacts").unwrap().id(), "crm");
    }

    #[test]
    fn gating_names_module_and_tiers() {
        let r = Registry::new(vec![Box::new(M("sources", &[], &[]))]).unwrap();
        let m = r.get("sources").unwrap();
        let e = r.check_available(m, Tier::Go, &[]).unwrap_err().problem();
        assert_eq!(e.kind, "module_not_licensed");
        assert_eq!(e.extra.unwrap()["tiers"][0], "expert");
        let e = r
            .check_available(m, Tier::Expert, &["sources".into()])
            .unwrap_err()
            .problem();
        assert_eq!(e.kind, "module_disabled");
        assert!(r.check_available(m, Tier::Expert, &[]).is_ok());
    }
}
