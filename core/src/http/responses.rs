//! Answers shared by many operations that carry no resource of their own kind.

use poem_openapi::types::ToJSON;

/// A 201 answer with the created resource.
#[derive(poem_openapi::ApiResponse)]
pub enum Created<T: ToJSON + Send + Sync> {
    /// Created.
    #[oai(status = 201)]
    Created(poem_openapi::payload::Json<T>),
}

/// A 204 answer.
#[derive(poem_openapi::ApiResponse)]
pub enum NoContent {
    /// Done; nothing to return.
    #[oai(status = 204)]
    NoContent,
}
