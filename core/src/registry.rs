//! The registry the binary assembles: which modules are compiled in, which API paths each
//! serves, and which of them a tenant may use.
//!
//! poem-openapi combines APIs only as compile-time tuples, so a module's operations are mounted
//! by the binary; what the registry knows at run time is which path prefixes each module owns.
//! Licence gating is therefore one per-request middleware that maps the path to its module.

use crate::msg;
use crate::{
    Result,
    access::{PermissionObject, Tier},
    context::TenantInfo,
    events::Event,
    module::Module,
};
use sea_orm::DatabaseTransaction;
use std::collections::HashMap;

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
pub struct Registry<A> {
    modules: Vec<Box<dyn Module<A>>>,
    by_id: HashMap<&'static str, usize>,
    /// Most specific first: more segments, then fewer wildcards, so
    /// `/api/v1/contacts/*/consents` wins over `/api/v1/contacts`.
    prefixes: Vec<(&'static str, usize)>,
}

impl<A: Sync + 'static> std::fmt::Debug for Registry<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.modules.iter().map(|m| m.id()))
            .finish()
    }
}

impl<A: Sync + 'static> Registry<A> {
    /// Builds the registry; fails on a duplicate id, a missing dependency or a prefix clash.
    pub fn new(modules: Vec<Box<dyn Module<A>>>) -> Result<Self, RegistryError> {
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
    pub fn modules(&self) -> impl Iterator<Item = &dyn Module<A>> {
        self.modules.iter().map(|m| m.as_ref())
    }

    /// The module with this id.
    pub fn get(&self, id: &str) -> Option<&dyn Module<A>> {
        self.by_id.get(id).map(|&i| self.modules[i].as_ref())
    }

    /// The module that serves `path`, if any.
    pub fn module_for_path(&self, path: &str) -> Option<&dyn Module<A>> {
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

    /// Every default data set of every module ([`Module::default_sets`]), as its marker
    /// (`<module>:<set>`, never a permission object's name, which has no `:`), its module
    /// and the set's name.
    pub fn default_sets(&self) -> impl Iterator<Item = (String, &dyn Module<A>, &'static str)> {
        self.modules().flat_map(|m| {
            m.default_sets()
                .iter()
                .map(move |set| (format!("{}:{set}", m.id()), m, *set))
        })
    }

    /// The module that defines a permission object.
    pub fn object_owner(&self, object: &str) -> Option<&dyn Module<A>> {
        self.modules()
            .find(|m| m.permission_objects().iter().any(|o| o.name == object))
    }

    /// Whether `module` is available to a tenant of `tier` with the given switched-off modules:
    /// `Ok` or the 403 the request gets. A dependency that is unavailable makes the module
    /// unavailable too.
    pub fn check_available(
        &self,
        module: &dyn Module<A>,
        tier: Tier,
        disabled: &[String],
    ) -> Result<()> {
        let Some((module, why)) = self.blocker(module, tier, disabled) else {
            return Ok(());
        };
        Err(match why {
            Blocker::NotLicensed => crate::Error::Forbidden {
                kind: "module_not_licensed",
                detail: msg!(
                    "the module `{module}` is not included in the `{tier}` licence; it is \
                     included in: {tiers}",
                    module = module.id(),
                    tier = tier.as_str(),
                    tiers = module
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
                detail: msg!(
                    "the module `{module}` is switched off for this tenant",
                    module = module.id()
                ),
                extra: Some(serde_json::json!({ "module": module.id() })),
            },
        })
    }

    /// Whether `module` is available to the tenant `info` describes: the rule of
    /// [`Registry::check_available`], without building its problem (search, reindexing and
    /// contact reads ask it for every module). An unknown tenant (`None`) has no module.
    pub fn is_available(&self, module: &dyn Module<A>, info: Option<&TenantInfo>) -> bool {
        info.is_some_and(|i| self.blocker(module, i.tier, &i.disabled_modules).is_none())
    }

    /// The modules available to the tenant `info` describes, in registration order.
    pub fn available<'a>(
        &'a self,
        info: Option<&'a TenantInfo>,
    ) -> impl Iterator<Item = &'a dyn Module<A>> + 'a {
        self.modules().filter(move |m| self.is_available(*m, info))
    }

    /// The module (`module` or one of its dependencies) that makes `module` unavailable, and
    /// why; `None` when it is available.
    fn blocker<'a>(
        &'a self,
        module: &'a dyn Module<A>,
        tier: Tier,
        disabled: &[String],
    ) -> Option<(&'a dyn Module<A>, Blocker)> {
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
    pub async fn dispatch(&self, app: &A, txn: &DatabaseTransaction, event: &Event) -> Result<()> {
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
    impl Module<()> for M {
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
        let dup = Registry::<()>::new(vec![Box::new(M("a", &[], &[])), Box::new(M("a", &[], &[]))]);
        assert_eq!(dup.err(), Some(RegistryError::Duplicate("a")));
        let missing = Registry::<()>::new(vec![Box::new(M("a", &["b"], &[]))]);
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
        let r = Registry::<()>::new(vec![
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
        let r = Registry::<()>::new(vec![
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
        let r = Registry::<()>::new(vec![Box::new(M("sources", &[], &[]))]).unwrap();
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
