//! The cache: Redis when `REDIS_URL` is set, in-process otherwise, behind one type.
//!
//! Keys are built only through [`CacheKey::tenant`] (or [`CacheKey::platform`] for data that
//! belongs to no tenant), so a tenant's cached data can never be read under another tenant's
//! key. Redis is an accelerator, never a dependency: every call has a short timeout, a failure
//! opens a short circuit, and the caller falls back to the database. Invalidations of per-node
//! state (permission enforcers) travel over a pub/sub channel to every node.

use futures::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{RwLock, broadcast};
use uuid::Uuid;

/// A cache key. The only constructors put the tenant (or the platform marker) first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// A key inside one tenant's space: `t:<tenant>:<name>`.
    pub fn tenant(tenant_id: Uuid, name: &str) -> Self {
        Self(format!("t:{tenant_id}:{name}"))
    }
    /// A key that belongs to no tenant (login throttles, platform lists).
    pub fn platform(name: &str) -> Self {
        Self(format!("p:{name}"))
    }
    /// The key as stored (without the deployment prefix).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change that per-node state must hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Invalidation {
    /// A tenant's roles or grants changed.
    Authz {
        /// The tenant.
        tenant_id: Uuid,
    },
    /// A tenant's licence, status or toggles changed.
    Tenant {
        /// The tenant.
        tenant_id: Uuid,
    },
    /// Credentials or accounts changed (logout, revocation, deactivation, a user's
    /// establishment): principals resolved from them before the change are stale.
    Principals {
        /// The tenant whose users changed; `None` for operator and reseller accounts.
        tenant_id: Option<Uuid>,
    },
    /// Messages may have been missed (reconnect): drop everything node-local.
    All,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: Uuid,
    inv: Invalidation,
}

/// The cache handle shared by the whole node.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    prefix: String,
    node: Uuid,
    local: moka::future::Cache<String, (Instant, Arc<Vec<u8>>)>,
    redis: Option<RedisBackend>,
    events: broadcast::Sender<Invalidation>,
    /// Whether the listener is subscribed to the other nodes' invalidations right now.
    hearing: std::sync::atomic::AtomicBool,
}

struct RedisBackend {
    client: redis::Client,
    conn: RwLock<Option<ConnectionManager>>,
    timeout: Duration,
    /// Until when (ms since start) Redis is considered down and skipped.
    down_until: AtomicI64,
    started: Instant,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field(
                "backend",
                &if self.inner.redis.is_some() {
                    "redis"
                } else {
                    "memory"
                },
            )
            .finish()
    }
}

/// How long a failed Redis stays skipped before the next attempt.
const CIRCUIT_OPEN: Duration = Duration::from_secs(2);

impl Cache {
    /// An in-process cache.
    pub fn memory(prefix: &str) -> Self {
        Self::build(prefix, None)
    }

    /// A Redis cache. Never fails on an unreachable server: it connects lazily and falls back.
    pub fn redis(prefix: &str, url: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(Self::build(
            prefix,
            Some(RedisBackend {
                client,
                conn: RwLock::new(None),
                timeout,
                down_until: AtomicI64::new(0),
                started: Instant::now(),
            }),
        ))
    }

    fn build(prefix: &str, redis: Option<RedisBackend>) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Inner {
                prefix: prefix.to_string(),
                node: Uuid::now_v7(),
                local: moka::future::Cache::builder().max_capacity(100_000).build(),
                redis,
                events,
                hearing: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Whether this node hears the other nodes' invalidations at this moment (Redis is
    /// configured and the listener is subscribed). While it does not, what a node keeps in
    /// process must be short-lived, because another node's change would not reach it.
    pub fn hears_other_nodes(&self) -> bool {
        self.inner.hearing.load(Ordering::Acquire)
    }

    /// Whether this node uses Redis.
    pub fn is_redis(&self) -> bool {
        self.inner.redis.is_some()
    }

    fn full(&self, key: &CacheKey) -> String {
        format!("{}:{}", self.inner.prefix, key.0)
    }

    fn channel(&self) -> String {
        format!("{}:invalidations", self.inner.prefix)
    }

    /// A Redis connection, unless Redis is not configured or currently considered down.
    async fn conn(&self) -> Option<(ConnectionManager, &RedisBackend)> {
        let r = self.inner.redis.as_ref()?;
        let now = r.started.elapsed().as_millis() as i64;
        if now < r.down_until.load(Ordering::Relaxed) {
            return None;
        }
        if let Some(c) = r.conn.read().await.as_ref() {
            return Some((c.clone(), r));
        }
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(r.timeout))
            .set_response_timeout(Some(r.timeout))
            .set_number_of_retries(1);
        match tokio::time::timeout(
            r.timeout * 2,
            ConnectionManager::new_with_config(r.client.clone(), cfg),
        )
        .await
        {
            Ok(Ok(c)) => {
                *r.conn.write().await = Some(c.clone());
                Some((c, r))
            }
            Ok(Err(e)) => {
                self.trip(r, &e.to_string());
                None
            }
            Err(_) => {
                self.trip(r, "connect timed out");
                None
            }
        }
    }

    fn trip(&self, r: &RedisBackend, why: &str) {
        let until = r.started.elapsed() + CIRCUIT_OPEN;
        r.down_until
            .store(until.as_millis() as i64, Ordering::Relaxed);
        tracing::warn!(reason = why, "redis unavailable; serving from the database");
    }

    /// Runs one Redis command with the timeout; `None` on any failure (after tripping the
    /// circuit), so callers fall back to the source of truth.
    async fn run<T, F, Fut>(&self, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let (conn, r) = self.conn().await?;
        match tokio::time::timeout(r.timeout, f(conn)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.trip(r, &e.to_string());
                None
            }
            Err(_) => {
                self.trip(r, "command timed out");
                None
            }
        }
    }

    /// A cached value, or `None` when absent, expired, undecodable or unreachable.
    pub async fn get<T: DeserializeOwned>(&self, key: &CacheKey) -> Option<T> {
        let full = self.full(key);
        let bytes: Vec<u8> = if self.inner.redis.is_some() {
            self.run(|mut c| async move { c.get::<_, Option<Vec<u8>>>(full).await })
                .await??
        } else {
            let (exp, v) = self.inner.local.get(&full).await?;
            if Instant::now() >= exp {
                self.inner.local.invalidate(&full).await;
                return None;
            }
            v.as_ref().clone()
        };
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores a value for `ttl`. Failures are logged and ignored: the cache is optional.
    pub async fn set<T: Serialize>(&self, key: &CacheKey, value: &T, ttl: Duration) {
        let Ok(bytes) = serde_json::to_vec(value) else {
            return;
        };
        let full = self.full(key);
        if self.inner.redis.is_some() {
            let secs = ttl.as_secs().max(1);
            self.run(|mut c| async move { c.set_ex::<_, _, ()>(full, bytes, secs).await })
                .await;
        } else {
            self.inner
                .local
                .insert(full, (Instant::now() + ttl, Arc::new(bytes)))
                .await;
        }
    }

    /// Removes a key.
    pub async fn delete(&self, key: &CacheKey) {
        let full = self.full(key);
        if self.inner.redis.is_some() {
            self.run(|mut c| async move { c.del::<_, ()>(full).await })
                .await;
        } else {
            self.inner.local.invalidate(&full).await;
        }
    }

    /// Increments a counter that lives for `window` from its first increment and returns the
    /// new count. When Redis is unreachable the count is kept in-process, so throttles still
    /// hold (per node) during an outage.
    pub async fn incr(&self, key: &CacheKey, window: Duration) -> u64 {
        let full = self.full(key);
        if self.inner.redis.is_some() {
            let k = full.clone();
            let secs = window.as_secs().max(1) as i64;
            let got = self
                .run(|mut c| async move {
                    let n: u64 = c.incr(&k, 1u64).await?;
                    if n == 1 {
                        c.expire::<_, ()>(&k, secs).await?;
                    }
                    Ok(n)
                })
                .await;
            if let Some(n) = got {
                return n;
            }
        }
        let now = Instant::now();
        let entry = self
            .inner
            .local
            .entry(format!("{full}#count"))
            .and_upsert_with(|old| {
                let next = match old.map(|e| e.into_value()) {
                    Some((exp, v)) if exp > now => {
                        let n = count_of(&v) + 1;
                        (exp, Arc::new(n.to_le_bytes().to_vec()))
                    }
                    _ => (now + window, Arc::new(1u64.to_le_bytes().to_vec())),
                };
                std::future::ready(next)
            })
            .await;
        count_of(&entry.into_value().1)
    }

    /// The current value of a counter made by [`Cache::incr`] (0 when absent).
    pub async fn count(&self, key: &CacheKey) -> u64 {
        let full = self.full(key);
        if self.inner.redis.is_some() {
            let k = full.clone();
            if let Some(v) = self
                .run(|mut c| async move { c.get::<_, Option<u64>>(k).await })
                .await
            {
                return v.unwrap_or(0);
            }
        }
        match self.inner.local.get(&format!("{full}#count")).await {
            Some((exp, v)) if exp > Instant::now() => count_of(&v),
            _ => 0,
        }
    }

    /// Tells every node (this one at once, the others through Redis) about a change.
    pub async fn publish(&self, inv: Invalidation) {
        let _ = self.inner.events.send(inv.clone());
        if self.inner.redis.is_some() {
            let Ok(payload) = serde_json::to_string(&Envelope {
                node: self.inner.node,
                inv,
            }) else {
                return;
            };
            let channel = self.channel();
            self.run(|mut c| async move { c.publish::<_, _, ()>(channel, payload).await })
                .await;
        }
    }

    /// Invalidations heard by this node.
    pub fn subscribe(&self) -> broadcast::Receiver<Invalidation> {
        self.inner.events.subscribe()
    }

    /// Whether Redis answers (`None` when no Redis is configured).
    pub async fn redis_healthy(&self) -> Option<bool> {
        self.inner.redis.as_ref()?;
        Some(
            self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
                .await
                .is_some(),
        )
    }

    /// Forwards invalidations published by other nodes to this node's subscribers, for as
    /// long as the process runs. After every (re)connection it announces [`Invalidation::All`],
    /// because messages sent while disconnected are lost.
    pub fn spawn_listener(&self) {
        let Some(r) = self.inner.redis.as_ref() else {
            return;
        };
        let client = r.client.clone();
        let channel = self.channel();
        let events = self.inner.events.clone();
        let node = self.inner.node;
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            let mut first = true;
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut ps) => match ps.subscribe(&channel).await {
                        Ok(()) => {
                            backoff = Duration::from_millis(200);
                            inner.hearing.store(true, Ordering::Release);
                            if !first {
                                let _ = events.send(Invalidation::All);
                            }
                            let mut stream = ps.on_message();
                            while let Some(msg) = stream.next().await {
                                let Ok(text) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                match serde_json::from_str::<Envelope>(&text) {
                                    Ok(env) if env.node != node => {
                                        let _ = events.send(env.inv);
                                    }
                                    Ok(_) => {}
                                    Err(e) => {
                                        tracing::warn!(error = %e, "bad invalidation message")
                                    }
                                }
                            }
                            inner.hearing.store(false, Ordering::Release);
                            // Whatever was kept while hearing may have missed a message.
                            let _ = events.send(Invalidation::All);
                            tracing::warn!("invalidation channel closed; reconnecting");
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot subscribe to invalidations"),
                    },
                    Err(e) => tracing::debug!(error = %e, "redis pub/sub unavailable"),
                }
                first = false;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        });
    }
}

fn count_of(v: &[u8]) -> u64 {
    v.try_into().map(u64::from_le_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_roundtrip_expiry_and_tenant_keys() {
        let c = Cache::memory("t");
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        c.set(&CacheKey::tenant(a, "x"), &1u32, Duration::from_secs(60))
            .await;
        assert_eq!(c.get::<u32>(&CacheKey::tenant(a, "x")).await, Some(1));
        assert_eq!(c.get::<u32>(&CacheKey::tenant(b, "x")).await, None);
        c.set(&CacheKey::tenant(a, "y"), &2u32, Duration::from_millis(1))
            .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(c.get::<u32>(&CacheKey::tenant(a, "y")).await, None);
        c.delete(&CacheKey::tenant(a, "x")).await;
        assert_eq!(c.get::<u32>(&CacheKey::tenant(a, "x")).await, None);
    }

    #[tokio::test]
    async fn counters_and_local_events() {
        let c = Cache::memory("t");
        let k = CacheKey::platform("n");
        assert_eq!(c.incr(&k, Duration::from_secs(60)).await, 1);
        assert_eq!(c.incr(&k, Duration::from_secs(60)).await, 2);
        assert_eq!(c.count(&k).await, 2);
        let mut rx = c.subscribe();
        c.publish(Invalidation::All).await;
        assert_eq!(rx.recv().await.unwrap(), Invalidation::All);
    }

    #[tokio::test]
    async fn unreachable_redis_degrades_to_misses() {
        let c = Cache::redis("t", "redis://127.0.0.1:1", Duration::from_millis(50)).unwrap();
        let k = CacheKey::platform("x");
        c.set(&k, &1u32, Duration::from_secs(5)).await;
        assert_eq!(c.get::<u32>(&k).await, None);
        assert_eq!(
            c.incr(&k, Duration::from_secs(5)).await,
            1,
            "falls back to local counts"
        );
        assert_eq!(c.redis_healthy().await, Some(false));
    }
}
