//! `Idempotency-Key` on POST, with Stripe's semantics: a client that did not hear the answer to
//! a write can send it again with the same key and get the first answer back instead of a
//! second write.
//!
//! A key belongs to the principal that sent it (a tenant's user: tenant and user; a platform
//! account: its user), never to anyone else. The first request with a key claims a row of
//! `idempotency_keys` (the primary key `(principal, idem_key)` decides between racing requests
//! on any number of nodes, on SQLite as on PostgreSQL), runs, and leaves its answer there for
//! [`KEPT_FOR`]. A retry with the same method, path, query and body gets that answer byte for
//! byte with `Idempotent-Replayed: true`, and the handler does not run; the same key with
//! anything else is 422 `idempotency_key_reused`; a retry while the first still runs is 409
//! `request_in_progress` with `Retry-After: 1`.
//!
//! Only answers of a handler that ran are kept: a 5xx, and the refusals that come before any
//! work (401, 413, 415, 429), release the key so the retry runs again. A handler, once started,
//! finishes even if the client goes away, so its retry finds the answer. A run holds the key
//! for [`LOCK_TIMEOUT`] and renews it while it lasts: a node that dies mid-request blocks the
//! key for that long at most, then another request takes it over.
//!
//! One concern per file: the request's way through ([`run`]), the table of keys and its state
//! rules ([`store`]), and the key in the OpenAPI document ([`document`](mod@document)).

use chrono::TimeDelta;
use std::time::Duration;

pub mod document;
pub mod run;
pub mod store;

/// The request header that carries the key.
pub const HEADER: &str = "Idempotency-Key";
/// The response header that marks a stored answer sent again.
pub const REPLAYED: &str = "Idempotent-Replayed";
/// Longest key, in characters (printable ASCII, so also bytes): a UUID or a client's own
/// request id fits many times over.
pub const MAX_KEY_CHARS: usize = 255;
/// How long an answer is kept for retries; after that the key may be used again.
pub const KEPT_FOR: TimeDelta = TimeDelta::hours(24);
/// How long a run holds its key without renewing it: past this, the node that ran it is taken
/// for dead and another request may run under the key.
pub const LOCK_TIMEOUT: TimeDelta = TimeDelta::seconds(60);
/// How often a run renews its hold on the key, well within [`LOCK_TIMEOUT`].
pub const RENEW_EVERY: Duration = Duration::from_secs(20);
/// Largest answer kept for replay. Every POST answers a resource or a problem of a few KiB; a
/// larger answer is sent but not kept (its key is released).
pub const MAX_STORED_BYTES: usize = 1024 * 1024;
/// How often each node deletes the keys older than [`KEPT_FOR`].
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);
