//! The API's operations as the host middleware sees them before routing: which ones take
//! anonymous callers, and which query parameters each one documents.

use crate::msg;
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
    /// The query parameters it documents: any other is refused before it runs.
    query: Vec<String>,
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
                    query: op
                        .params
                        .iter()
                        .filter(|p| p.in_type == poem_openapi::registry::MetaParamIn::Query)
                        .map(|p| p.name.clone())
                        .collect(),
                })
            })
            .collect();
        Self { routes }
    }

    /// The operations whose path matches `path`, whatever their method (several when a
    /// literal segment and a path parameter both match it).
    fn on_path<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Operation> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.routes.iter().filter(move |op| {
            op.segments.len() == parts.len()
                && op
                    .segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
        })
    }

    /// The operations `method` on `path` may reach.
    fn matching<'a>(
        &'a self,
        method: &'a Method,
        path: &'a str,
    ) -> impl Iterator<Item = &'a Operation> {
        self.on_path(path).filter(move |op| op.method == method)
    }

    /// The methods the operations of `path` take, for the `Allow` of a 405 (`HEAD` wherever
    /// `GET` is); empty for a path no operation has.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = Vec::new();
        for op in self.on_path(path) {
            if !methods.contains(&op.method) {
                methods.push(op.method.clone());
            }
        }
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        methods
    }

    /// How `method` on `path` may be called.
    pub fn access(&self, method: &Method, path: &str) -> Access {
        let mut access = Access::Unknown;
        for op in self.matching(method, path) {
            if op.public {
                return Access::Public;
            }
            access = Access::Principal;
        }
        access
    }

    /// Refuses a query parameter that the operation `method` on `path` does not document
    /// (422 naming it, with the ones it takes), so a misspelt filter or an unknown field is
    /// never silently ignored by a list, nor by any operation added later. The route that
    /// names the path most literally is the one the router takes; requests to no known
    /// operation are left to the router (404, 405).
    pub fn check_query(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> crate::Result<()> {
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Ok(());
        };
        let Some(op) = self
            .matching(method, path)
            .max_by_key(|op| op.segments.iter().filter(|s| s.is_some()).count())
        else {
            return Ok(());
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            let name = crate::input::decode_query_component(name);
            if !op.query.contains(&name) {
                let detail = match op.query.is_empty() {
                    true => msg!("this operation takes no query parameter"),
                    false => msg!(
                        "not a parameter of this operation, which takes {accepted}",
                        accepted = op.query.join(", ")
                    ),
                };
                return Err(crate::Error::invalid(name, detail));
            }
        }
        Ok(())
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

    fn query_param(name: &str) -> poem_openapi::registry::MetaOperationParam {
        poem_openapi::registry::MetaOperationParam {
            name: name.into(),
            schema: <String as poem_openapi::types::Type>::schema_ref(),
            in_type: poem_openapi::registry::MetaParamIn::Query,
            description: None,
            required: false,
            deprecated: false,
            explode: true,
            style: None,
        }
    }

    #[test]
    fn refuses_undocumented_query_parameters() {
        let mut list = op(Method::GET, true);
        list.params = vec![query_param("sort"), query_param("cursor")];
        let ops = Operations::from_meta(&[MetaApi {
            paths: vec![
                MetaPath {
                    path: "/api/v1/contacts".into(),
                    operations: vec![list],
                },
                MetaPath {
                    path: "/api/v1/contacts/{id}".into(),
                    operations: vec![op(Method::GET, true)],
                },
            ],
        }]);
        let get = |path: &str, q: Option<&str>| ops.check_query(&Method::GET, path, q);
        assert!(get("/api/v1/contacts", Some("sort=-created_at&cursor=x")).is_ok());
        assert!(get("/api/v1/contacts", None).is_ok());
        assert!(get("/nowhere", Some("x=1")).is_ok());
        match get("/api/v1/contacts", Some("sort=name&colour=red")) {
            Err(crate::Error::Validation { field, .. }) => assert_eq!(field, "colour"),
            other => panic!("{other:?}"),
        }
        assert!(get("/api/v1/contacts/abc", Some("sort=name")).is_err());
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
        assert_eq!(
            ops.allowed("/api/v1/opportunities/x/documents"),
            [Method::POST, Method::GET, Method::HEAD]
        );
        assert!(ops.allowed("/api/v1/nowhere").is_empty());
    }
}
