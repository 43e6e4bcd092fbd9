//! The API's operations as the host middleware sees them before routing: which ones take
//! anonymous callers.

use poem::http::Method;

/// The API's operations as the host sees them before routing: which ones a caller without
/// credentials may call (login, accepting an invitation, partners' signed deliveries...).
/// Built once at startup from the operations' own security declarations, so a new operation
/// is classified by what it declares, not by a list someone must remember to update.
#[derive(Debug, Clone, Default)]
pub struct Operations {
    routes: Vec<Operation>,
}

#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    /// `None` for a path parameter (`{id}`), which matches any one segment.
    segments: Vec<Option<String>>,
    public: bool,
}

/// What the host knows of a request's route before the router runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// An operation that takes anonymous callers.
    Public,
    /// An operation that needs a principal: without one it can only answer 401.
    Principal,
    /// No operation has this path and method: the router answers 404 or 405.
    Unknown,
}

impl Operations {
    /// Collects the operations of the API description: an operation is public when it
    /// declares no security requirement, or an optional one (an empty requirement).
    pub fn from_meta(apis: &[poem_openapi::registry::MetaApi]) -> Self {
        let routes = apis
            .iter()
            .flat_map(|api| &api.paths)
            .flat_map(|path| {
                let segments: Vec<Option<String>> = path
                    .path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let param = s.starts_with(':') || (s.starts_with('{') && s.ends_with('}'));
                        (!param).then(|| s.to_string())
                    })
                    .collect();
                path.operations.iter().map(move |op| Operation {
                    method: op.method.clone(),
                    segments: segments.clone(),
                    public: op.security.is_empty() || op.security.iter().any(|r| r.is_empty()),
                })
            })
            .collect();
        Self { routes }
    }

    /// How `method` on `path` may be called.
    pub fn access(&self, method: &Method, path: &str) -> Access {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut access = Access::Unknown;
        for op in self.routes.iter().filter(|op| op.method == method) {
            let matches = op.segments.len() == parts.len()
                && op
                    .segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p));
            if matches {
                if op.public {
                    return Access::Public;
                }
                access = Access::Principal;
            }
        }
        access
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::registry::{MetaApi, MetaOperation, MetaPath, MetaResponses};
    use std::collections::HashMap;

    fn op(method: Method, secured: bool) -> MetaOperation {
        MetaOperation {
            method,
            tags: vec![],
            summary: None,
            description: None,
            external_docs: None,
            params: vec![],
            request: None,
            responses: MetaResponses { responses: vec![] },
            deprecated: false,
            security: if secured {
                vec![HashMap::from([("bearer", vec![])])]
            } else {
                vec![]
            },
            operation_id: None,
            code_samples: vec![],
        }
    }

    #[test]
    fn classifies_by_declared_security() {
        let ops = Operations::from_meta(&[MetaApi {
            paths: vec![
                MetaPath {
                    path: "/api/v1/auth/login".into(),
                    operations: vec![op(Method::POST, false)],
                },
                MetaPath {
                    path: "/api/v1/opportunities/{id}/documents".into(),
                    operations: vec![op(Method::POST, true), op(Method::GET, true)],
                },
                MetaPath {
                    path: "/inbound/{id}/leads".into(),
                    operations: vec![op(Method::POST, false)],
                },
            ],
        }]);
        assert_eq!(
            ops.access(&Method::POST, "/api/v1/auth/login"),
            Access::Public
        );
        assert_eq!(
            ops.access(&Method::POST, "/api/v1/opportunities/x/documents"),
            Access::Principal
        );
        assert_eq!(
            ops.access(&Method::POST, "/inbound/abc/leads"),
            Access::Public
        );
        assert_eq!(
            ops.access(&Method::PUT, "/api/v1/opportunities/x/documents"),
            Access::Unknown
        );
        assert_eq!(
            ops.access(&Method::POST, "/api/v1/opportunities/documents"),
            Access::Unknown
        );
    }
}
