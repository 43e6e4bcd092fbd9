//! Who a bearer credential is, and what the host must know of its tenant, kept in process so
//! that a request in the steady state sends no statement to resolve its caller.
//!
//! A kept answer is dropped the moment any node announces a change to it ([`Invalidation`]:
//! this node applies its own announcements before they are published, the others hear them
//! through Redis). An answer read from the database while a change was being announced is
//! never trusted: every answer carries the sequence number current when its read began, and an
//! announcement after that number makes it stale. While the node does not hear the other nodes
//! (no Redis, or the subscription is down) an answer is trusted for [`DEAF`] only, which is as
//! long as the tenant facts were kept before.

use crate::{
    cache::Invalidation,
    context::{Authenticated, Principal, TenantInfo},
};
use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{
        RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use uuid::Uuid;

/// How long a kept answer is trusted while the node hears every other node's changes. The
/// announcement is what ends it; this bounds the damage of a lost message.
pub const HEARING: Duration = Duration::from_secs(30);

/// How long a kept answer is trusted while the node cannot hear other nodes' changes.
pub const DEAF: Duration = Duration::from_secs(2);

/// The scope an announcement about operator and reseller accounts applies to.
const PLATFORM: Uuid = Uuid::nil();

#[derive(Clone)]
struct Kept<V> {
    value: V,
    /// The tenant whose announcements make it stale (`PLATFORM` for platform accounts).
    scope: Uuid,
    /// The sequence number current when the read that produced it began.
    seq: u64,
    at: Instant,
}

/// The principals and tenant facts this node keeps (see the module docs).
pub struct Principals {
    seq: AtomicU64,
    /// The sequence number of the last announcement per scope.
    changed: RwLock<HashMap<Uuid, u64>>,
    /// The sequence number of the last announcement that concerned everything.
    all: AtomicU64,
    credentials: moka::sync::Cache<String, Kept<Option<Authenticated>>>,
    tenants: moka::sync::Cache<Uuid, Kept<Option<TenantInfo>>>,
}

impl std::fmt::Debug for Principals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principals")
            .field("credentials", &self.credentials.entry_count())
            .field("tenants", &self.tenants.entry_count())
            .finish()
    }
}

impl Default for Principals {
    fn default() -> Self {
        Self::new()
    }
}

impl Principals {
    /// An empty store, bounded so that a flood of distinct tokens cannot grow it without end.
    pub fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            changed: RwLock::default(),
            all: AtomicU64::new(0),
            credentials: moka::sync::Cache::builder()
                .max_capacity(50_000)
                .time_to_live(HEARING)
                .build(),
            tenants: moka::sync::Cache::builder()
                .max_capacity(20_000)
                .time_to_live(HEARING)
                .build(),
        }
    }

    /// Applies an announcement: what it concerns is stale from now on.
    pub fn apply(&self, inv: &Invalidation) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let scope = match inv {
            Invalidation::Tenant { tenant_id } => *tenant_id,
            Invalidation::Principals { tenant_id } => tenant_id.unwrap_or(PLATFORM),
            Invalidation::All => {
                self.all.store(seq, Ordering::SeqCst);
                return;
            }
            // Permissions are the enforcer's, which keeps its own.
            Invalidation::Authz { .. } => return,
        };
        let mut changed = self.changed.write().unwrap_or_else(|e| e.into_inner());
        changed.insert(scope, seq);
    }

    fn fresh<V: Clone>(&self, kept: &Kept<V>, trusted_for: Duration) -> bool {
        if kept.at.elapsed() >= trusted_for || self.all.load(Ordering::SeqCst) > kept.seq {
            return false;
        }
        let changed = self.changed.read().unwrap_or_else(|e| e.into_inner());
        changed.get(&kept.scope).is_none_or(|s| *s <= kept.seq)
    }

    async fn kept_or_read<K, V, F, Fut, E>(
        &self,
        cache: &moka::sync::Cache<K, Kept<V>>,
        key: K,
        trusted_for: Duration,
        // The scope whose announcements make the answer stale; `None`: do not keep it.
        scope_of: impl Fn(&V) -> Option<Uuid>,
        read: F,
    ) -> Result<V, E>
    where
        K: Hash + Eq + Send + Sync + Clone + 'static,
        V: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some(kept) = cache.get(&key)
            && self.fresh(&kept, trusted_for)
        {
            return Ok(kept.value);
        }
        let seq = self.seq.load(Ordering::SeqCst);
        let value = read().await?;
        // Only answers that name someone are kept: a dead or made-up token costs a statement,
        // and a flood of them cannot push the live ones out.
        let Some(scope) = scope_of(&value) else {
            return Ok(value);
        };
        cache.insert(
            key,
            Kept {
                value: value.clone(),
                scope,
                seq,
                at: Instant::now(),
            },
        );
        Ok(value)
    }

    /// The caller a credential (by its hash) stands for, kept or read with `read`.
    pub async fn credential<F, Fut, E>(
        &self,
        token_hash: &str,
        trusted_for: Duration,
        read: F,
    ) -> Result<Option<Authenticated>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Authenticated>, E>>,
    {
        self.kept_or_read(
            &self.credentials,
            token_hash.to_string(),
            trusted_for,
            |a: &Option<Authenticated>| {
                a.as_ref().map(|a| match &a.principal {
                    Principal::Tenant(u) => u.tenant_id,
                    Principal::Operator { .. } | Principal::Reseller { .. } => PLATFORM,
                })
            },
            read,
        )
        .await
    }

    /// A tenant's facts, kept or read with `read`.
    pub async fn tenant<F, Fut, E>(
        &self,
        tenant_id: Uuid,
        trusted_for: Duration,
        read: F,
    ) -> Result<Option<TenantInfo>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<TenantInfo>, E>>,
    {
        self.kept_or_read(
            &self.tenants,
            tenant_id,
            trusted_for,
            move |info: &Option<TenantInfo>| info.as_ref().map(|_| tenant_id),
            read,
        )
        .await
    }

    /// Applies every announcement the node hears, for as long as the process runs.
    pub fn spawn_listener(self: &std::sync::Arc<Self>, cache: &crate::cache::Cache) {
        let this = self.clone();
        let mut rx = cache.subscribe();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match rx.recv().await {
                    Ok(inv) => this.apply(&inv),
                    Err(RecvError::Lagged(_)) => this.apply(&Invalidation::All),
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::TenantUser;
    use std::convert::Infallible;

    fn tenant_user(tenant_id: Uuid) -> Option<Authenticated> {
        Some(Authenticated {
            principal: Principal::Tenant(TenantUser {
                tenant_id,
                user_id: Uuid::now_v7(),
                establishment_id: None,
                team_ids: vec![],
            }),
            token_hash: "h".into(),
            via_api_key: false,
        })
    }

    async fn resolve(p: &Principals, hash: &str, t: Uuid, reads: &AtomicU64) -> bool {
        p.credential(hash, HEARING, || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>(tenant_user(t))
        })
        .await
        .unwrap()
        .is_some()
    }

    #[tokio::test]
    async fn kept_until_its_tenant_or_everything_is_announced() {
        let p = Principals::new();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let reads = AtomicU64::new(0);
        assert!(resolve(&p, "ha", a, &reads).await);
        assert!(resolve(&p, "hb", b, &reads).await);
        assert!(resolve(&p, "ha", a, &reads).await);
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "the second read of ha is kept"
        );

        p.apply(&Invalidation::Principals { tenant_id: Some(a) });
        assert!(resolve(&p, "ha", a, &reads).await);
        assert!(resolve(&p, "hb", b, &reads).await);
        assert_eq!(
            reads.load(Ordering::SeqCst),
            3,
            "only tenant a's answer was read again"
        );

        p.apply(&Invalidation::Tenant { tenant_id: b });
        assert!(resolve(&p, "hb", b, &reads).await);
        p.apply(&Invalidation::All);
        assert!(resolve(&p, "ha", a, &reads).await);
        assert_eq!(reads.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn an_answer_read_during_an_announcement_is_not_trusted() {
        let p = Principals::new();
        let t = Uuid::now_v7();
        // The read begins, the change is announced while it runs, the read returns the old
        // answer: the next lookup must read again.
        let first = p
            .credential("h", HEARING, || async {
                p.apply(&Invalidation::Principals { tenant_id: Some(t) });
                Ok::<_, Infallible>(tenant_user(t))
            })
            .await
            .unwrap();
        assert!(first.is_some());
        let again = p
            .credential("h", HEARING, || async { Ok::<_, Infallible>(None) })
            .await
            .unwrap();
        assert!(
            again.is_none(),
            "the answer read during the change was trusted"
        );
    }

    #[tokio::test]
    async fn trusted_only_briefly_while_deaf() {
        let p = Principals::new();
        let t = Uuid::now_v7();
        let reads = AtomicU64::new(0);
        let read = |d| {
            let reads = &reads;
            let p = &p;
            async move {
                p.credential("h", d, || async {
                    reads.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Infallible>(tenant_user(t))
                })
                .await
                .unwrap()
            }
        };
        read(Duration::ZERO).await;
        read(Duration::ZERO).await;
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "an expired answer is read again"
        );
    }
}
