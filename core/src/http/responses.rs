//! Answers shared by many operations that carry no resource of their own kind.

use poem_openapi::{payload::Json, types::ToJSON};

/// A 201 answer: the created resource itself (the body a `GET` on `Location` answers), where
/// it lives, and its `ETag` when the resource is versioned. Every create answers with it, so
/// no create can forget the `Location` header: [`Created::at`] is the only way to build one.
#[derive(poem_openapi::ApiResponse)]
pub enum Created<T: ToJSON + Send + Sync> {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<T>,
        /// Where the new resource is read: a path under `/api/v1`.
        #[oai(header = "Location")]
        String,
        /// The new resource's version, for `If-Match` on its first change (versioned
        /// resources only).
        #[oai(header = "ETag")]
        Option<String>,
    ),
}

impl<T: ToJSON + Send + Sync> Created<T> {
    /// `body`, created at `location` (e.g. `/api/v1/vehicles/{id}`).
    pub fn at(location: impl Into<String>, body: T) -> Self {
        Created::Created(Json(body), location.into(), None)
    }

    /// The same answer with the `ETag` of a resource at `version`.
    pub fn tagged(self, version: i32) -> Self {
        let Created::Created(body, location, _) = self;
        Created::Created(body, location, Some(super::etag::etag(version)))
    }
}

/// A 204 answer.
#[derive(poem_openapi::ApiResponse)]
pub enum NoContent {
    /// Done; nothing to return.
    #[oai(status = 204)]
    NoContent,
}
