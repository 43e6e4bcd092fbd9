//! The key in the OpenAPI document: poem-openapi adds a header to one operation or to all,
//! never to the POSTs alone, hence a pass over the generated document.

use super::{HEADER, MAX_KEY_CHARS, REPLAYED};
use crate::http::conventions::{PROBLEM, takes_principal};
use serde_json::{Value, json};

/// Documents the key in an OpenAPI document: the `Idempotency-Key` header on every POST that
/// takes a principal (the only ones it applies to), the `Idempotent-Replayed` answer header,
/// and the 409 and 422 the key can cause.
pub fn document(doc: &mut Value) {
    // The schema itself is written with the other conventions of the document.
    let problem = json!({"$ref": format!("#/components/schemas/{PROBLEM}")});
    let parameter = json!({
        "name": HEADER,
        "in": "header",
        "required": false,
        "description": format!(
            "Makes a retry safe: the first answer for this key is kept for 24 hours and sent \
             again (with `{REPLAYED}: true`) for a request with the same key, path, query and \
             body, without running it twice. The same key with another request is 422 \
             `idempotency_key_reused`; while the first still runs, 409 `request_in_progress` \
             with `Retry-After`. Keys are per user; 1 to {MAX_KEY_CHARS} printable ASCII \
             characters (a UUID is a good key)."
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS,
                   "pattern": "^[ -~]+$"},
    });
    let replayed = json!({
        "description": "`true` when this is the kept answer of an earlier request with the \
                        same `Idempotency-Key`.",
        "required": false,
        "schema": {"type": "string", "enum": ["true"]},
    });
    let answers = [
        (
            "409",
            "`request_in_progress`: a request with this `Idempotency-Key` is still running; \
             retry after `Retry-After` seconds. Or another conflict the operation describes.",
        ),
        (
            "422",
            "`idempotency_key_reused`, or `validation_error` naming the invalid field or \
             header (`Idempotency-Key`).",
        ),
    ];
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(|p| p.get_mut("post"))
        .filter(|op| takes_principal(op.get("security")))
    {
        let Some(op) = op.as_object_mut() else {
            continue;
        };
        if let Some(params) = op
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            && !params.iter().any(|p| p["name"] == HEADER)
        {
            params.push(parameter.clone());
        }
        let Some(responses) = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        else {
            continue;
        };
        for (status, text) in answers {
            responses.entry(status).or_insert_with(|| {
                json!({
                    "description": text,
                    "content": {"application/problem+json": {"schema": problem.clone()}},
                })
            });
        }
        for response in responses.values_mut() {
            if let Some(r) = response.as_object_mut()
                && let Some(headers) = r
                    .entry("headers")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            {
                headers.insert(REPLAYED.into(), replayed.clone());
            }
        }
        if let Some(conflict) = responses.get_mut("409").and_then(Value::as_object_mut)
            && let Some(headers) = conflict.get_mut("headers").and_then(Value::as_object_mut)
        {
            headers.entry("Retry-After").or_insert_with(|| {
                json!({"description": "Seconds to wait before retrying a request in progress.",
                       "required": false, "schema": {"type": "integer"}})
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn documents_the_header_on_authenticated_posts_only() {
        let mut doc = json!({
            "paths": {
                "/api/v1/contacts": {
                    "post": {"security": [{"bearer": []}], "responses": {"201": {}}},
                    "get": {"security": [{"bearer": []}], "responses": {"200": {}}},
                },
                "/api/v1/auth/login": {"post": {"responses": {"200": {}}}},
            },
            "components": {"schemas": {}},
        });
        document(&mut doc);
        let post = &doc["paths"]["/api/v1/contacts"]["post"];
        assert_eq!(post["parameters"][0]["name"], HEADER);
        assert_eq!(post["parameters"][0]["in"], "header");
        for status in ["409", "422"] {
            assert_eq!(
                post["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem"
            );
        }
        assert!(post["responses"]["201"]["headers"][REPLAYED].is_object());
        assert!(post["responses"]["409"]["headers"]["Retry-After"].is_object());
        assert!(doc["paths"]["/api/v1/contacts"]["get"]["parameters"].is_null());
        assert!(doc["paths"]["/api/v1/auth/login"]["post"]["parameters"].is_null());
        // Applying it twice adds nothing.
        let once = doc.clone();
        document(&mut doc);
        assert_eq!(once, doc);
    }
}
