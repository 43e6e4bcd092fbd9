//! HTTP plumbing of the host, one concern per file: problem+json for errors that reach the
//! edge ([`problem`]), the outermost request-id and logging middleware
//! ([`edge`](mod@edge)), the host middleware that authenticates and gates before any handler
//! ([`host`](mod@host)), the table of operations it consults ([`operations`]), the security
//! schemes operations declare ([`auth`]), JSON bodies ([`body`]), lists in pages
//! ([`paging`]), entity tags ([`etag`](mod@etag)) and shared answers ([`responses`]).
//! [`idempotency`] runs a POST with an `Idempotency-Key` at most once per key.
//!
//! Every item is re-exported here, so `forecourt_core::http::X` names it; files of this
//! folder import one another by their own path, never through these re-exports.

pub mod auth;
pub mod body;
pub mod conventions;
pub mod edge;
pub mod etag;
pub mod host;
pub mod idempotency;
pub mod operations;
pub mod paging;
pub mod problem;
pub mod responses;

pub use crate::error::problem_response;
pub use auth::{Auth, PlatformAuth, TenantAuth};
pub use body::{JsonBody, parse_body, parse_json};
pub use edge::{AnswerLanguage, MAX_HEADER_BYTES, MAX_URI_BYTES, RequestId, edge};
pub use etag::{etag, if_match};
pub use host::{host, tenant_info, tenant_suspended};
pub use operations::{Access, Operations};
pub use paging::{
    Key, Keyset, List, PAGE_DEFAULT, PAGE_MAX, Page, PageRequest, SortField, count_if_asked,
    fetch_page, fetch_sorted, instant_param, page_limit, parse_cursor,
};
pub use problem::{error_to_response, learn_parameter_enums};
pub use responses::{Created, NoContent};
