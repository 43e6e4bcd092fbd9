//! The conventions every operation follows, written into the OpenAPI document that
//! poem-openapi generates: what a client generator needs and poem-openapi does not write.
//!
//! * an `operationId` on every operation, derived from its method and path
//!   (`get_contacts_by_id_status_history`), stable as long as the path is;
//! * every error answer documented with the problem schema: the statuses an operation can
//!   give by its shape (a body: 400, 413, 415, 422; a principal: 401, 403; an id in the path:
//!   404; every operation: 429 and 500), and `default` for the rest (a conflict, a
//!   precondition the operation describes in its text);
//! * standard formats: poem-openapi writes `naive-date` for a date (`date` in OpenAPI) and
//!   `naive-date-time` for a local date-time (no OpenAPI format: the format is dropped);
//! * the problem schema itself, with the `errors` of a 422.

use serde_json::{Map, Value, json};

/// The name of the problem schema in `components/schemas`.
pub const PROBLEM: &str = "Problem";

/// Writes the conventions into `doc`, an OpenAPI 3 document.
pub fn document(doc: &mut Value) {
    standard_formats(doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if let Some(op) = op.as_object_mut() {
                    operation(path, method, op);
                }
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(PROBLEM.into(), problem_schema());
    }
}

fn operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    op.entry("operationId")
        .or_insert_with(|| Value::String(operation_id(method, path)));
    let body = op.contains_key("requestBody");
    let secured = takes_principal(op.get("security"));
    let has_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let id_in_path = path.contains('{');
    let mut answers: Vec<(&str, &str)> = Vec::new();
    if body {
        answers.push(("400", "`malformed_json`: the body is not JSON at all."));
        answers.push((
            "413",
            "`payload_too_large`: the body exceeds the size limit.",
        ));
        answers.push((
            "415",
            "`unsupported_media_type`: a body of another media type.",
        ));
    }
    if body || has_params {
        answers.push((
            "422",
            "`validation_error` (or a rule's own type) naming every invalid field in `errors`.",
        ));
    }
    if secured {
        answers.push((
            "401",
            "`unauthorized`: missing, invalid or expired credentials.",
        ));
        answers.push((
            "403",
            "`forbidden` (a permission is missing), `module_not_licensed`, `module_disabled` \
             or `tenant_suspended`.",
        ));
    }
    if id_in_path {
        answers.push((
            "404",
            "`not_found`: no such record, or one of another tenant (the two are alike).",
        ));
    }
    answers.push((
        "429",
        "`too_many_attempts`: retry after `Retry-After` seconds.",
    ));
    answers.push((
        "500",
        "`internal_error`: the server failed; quote the `request_id`.",
    ));
    answers.push(("default", "Another problem the operation describes."));
    let problem = json!({"$ref": format!("#/components/schemas/{PROBLEM}")});
    let Some(responses) = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    else {
        return;
    };
    for (status, text) in answers {
        responses.entry(status).or_insert_with(|| {
            json!({
                "description": text,
                "content": {"application/problem+json": {"schema": problem.clone()}},
            })
        });
    }
}

/// Whether an operation of the document declares a security requirement that must be met
/// (an empty requirement makes the credentials optional).
pub fn takes_principal(security: Option<&Value>) -> bool {
    security.and_then(Value::as_array).is_some_and(|reqs| {
        !reqs.is_empty()
            && reqs
                .iter()
                .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
    })
}

/// `get` `/api/v1/contacts/{id}/status-history` → `get_contacts_by_id_status_history`.
pub fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for segment in path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip_while(|s| *s == "api" || *s == "v1")
    {
        id.push('_');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => {
                id.push_str("by_");
                id.push_str(param);
            }
            None => id.push_str(&segment.replace(['-', '.'], "_")),
        }
    }
    id
}

/// Replaces poem-openapi's own format names by OpenAPI's, anywhere in the document.
fn standard_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            match map.get("format").and_then(Value::as_str) {
                Some("naive-date") => {
                    map.insert("format".into(), json!("date"));
                }
                Some("naive-date-time" | "naive-time") => {
                    map.remove("format");
                }
                _ => {}
            }
            map.values_mut().for_each(standard_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(standard_formats),
        _ => {}
    }
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An RFC 9457 problem: every error answer is one. `type` and `field` are \
                        the same in every language; `title` and `detail` are in the caller's \
                        language (`Accept-Language`, else the tenant's).",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "description": "Stable snake_case identifier."},
            "title": {"type": "string", "description": "Short human summary."},
            "status": {"type": "integer", "description": "The HTTP status."},
            "detail": {"type": "string", "description": "What exactly went wrong."},
            // Absent rather than null; declared nullable as every optional response field
            // is, so a client treats both alike.
            "field": {"type": "string", "nullable": true,
                      "description": "The offending input (the first of `errors`), if any."},
            "errors": {
                "type": "array", "nullable": true,
                "description": "Every invalid field of a 422, in the order of the body.",
                "items": {
                    "type": "object",
                    "required": ["field", "type", "detail"],
                    "properties": {
                        "field": {"type": "string", "description": "The field's path \
                                  (`emails[1]`, `address.city`) or the parameter's name."},
                        "type": {"type": "string", "description": "Stable identifier."},
                        "detail": {"type": "string", "description": "What is wrong and \
                                   what is expected."},
                    },
                },
            },
            "request_id": {"type": "string", "nullable": true,
                           "description": "The request's id, to quote when reporting a 5xx."},
        },
        "additionalProperties": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_method_and_path() {
        assert_eq!(
            operation_id("GET", "/api/v1/contacts/{id}/status-history"),
            "get_contacts_by_id_status_history"
        );
        assert_eq!(
            operation_id("post", "/inbound/{id}/leads"),
            "post_inbound_by_id_leads"
        );
    }

    #[test]
    fn every_operation_gets_an_id_problem_answers_and_standard_formats() {
        let mut doc = json!({
            "paths": {"/api/v1/things/{id}": {"patch": {
                "security": [{"bearer": []}],
                "requestBody": {"content": {}},
                "responses": {"200": {"description": "ok"}},
                "parameters": [{"name": "id", "in": "path",
                                "schema": {"type": "string", "format": "naive-date"}}],
            }}},
            "components": {"schemas": {}},
        });
        document(&mut doc);
        let op = &doc["paths"]["/api/v1/things/{id}"]["patch"];
        assert_eq!(op["operationId"], "patch_things_by_id");
        for status in [
            "200", "400", "401", "403", "404", "413", "415", "422", "429", "500", "default",
        ] {
            assert!(op["responses"][status].is_object(), "{status}: {op}");
        }
        assert_eq!(op["parameters"][0]["schema"]["format"], "date");
        assert!(doc["components"]["schemas"][PROBLEM]["properties"]["errors"].is_object());
    }
}
