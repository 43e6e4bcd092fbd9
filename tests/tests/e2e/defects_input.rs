//! Issue 9, input defects: dates the database cannot hold, wrong JSON types, bodies read
//! before authentication, oversized request heads, lead sources in use, and `null` values
//! the OpenAPI document did not allow.

use forecourt_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REPORT: &str = "/api/v1/reports/lead-sources";

/// Creates an opportunity for a new contact, with `extra` merged into the body.
async fn opportunity(s: &TestServer, token: &str, extra: Value) -> Value {
    let contact = s.create_contact(token).await;
    let mut body = json!({"contacts": [{"contact_id": contact}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    s.post("/api/v1/opportunities", token, body)
        .await
        .ok(201)
        .clone()
}

// Item 7 ---------------------------------------------------------------------------------------

#[tokio::test]
async fn dates_outside_1900_to_2200_are_refused_naming_the_parameter() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();

    // The probe of the issue: a 500 on PostgreSQL ("timestamp out of range").
    let r = s
        .get(&format!("{REPORT}?from=-9999-01-01&to=9999-12-31"), tok)
        .await;
    let p = r.invalid("from");
    assert!(p["detail"].as_str().unwrap().contains("1900"), "{p}");
    s.get(&format!("{REPORT}?from=2020-01-01&to=9999-12-31"), tok)
        .await
        .invalid("to");
    s.get(&format!("{REPORT}?from=1899-12-31"), tok)
        .await
        .invalid("from");
    s.get(&format!("{REPORT}?to=2201-01-01"), tok)
        .await
        .invalid("to");
    // The bounds themselves are days like any other.
    let ok = s
        .get(&format!("{REPORT}?from=1900-01-01&to=2200-12-31"), tok)
        .await
        .ok(200);
    assert_eq!(ok["from"], "1900-01-01");

    // The connectors' delivery log filters on the same kind of column.
    let c = s
        .post(
            "/api/v1/connectors",
            tok,
            json!({"partner": "Website", "name": "Site"}),
        )
        .await
        .ok(201);
    let deliveries = format!("/api/v1/connectors/{}/deliveries", c.str("id"));
    s.get(&format!("{deliveries}?from=-9999-01-01"), tok)
        .await
        .invalid("from");
    s.get(&format!("{deliveries}?to=9999-12-31T00:00:00Z"), tok)
        .await
        .invalid("to");
    s.get(&format!("{deliveries}?from=2020-01-01&to=2030-12-31"), tok)
        .await
        .ok(200);

    // Dates in lead-page bodies follow the same rule.
    let o = opportunity(&s, tok, json!({})).await;
    let follow_ups = format!("/api/v1/opportunities/{}/follow-ups", o.str("id"));
    s.post(
        &follow_ups,
        tok,
        json!({"deadline": "2999-01-01T10:00:00Z", "reason": "Call back"}),
    )
    .await
    .invalid("deadline");
    let tasks = format!("/api/v1/opportunities/{}/tasks", o.str("id"));
    s.post(
        &tasks,
        tok,
        json!({"title": "Call", "due_at": "1850-01-01T10:00:00Z", "assignee_id": t.admin_user_id}),
    )
    .await
    .invalid("due_at");
    s.post(
        &follow_ups,
        tok,
        json!({"deadline": "2030-01-01T10:00:00Z", "reason": "Call back"}),
    )
    .await
    .ok(201);
    s.stop().await;
}

// Item 9 ---------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_json_types_and_huge_numbers_are_invalid_fields_not_malformed_json() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let contacts = "/api/v1/contacts";

    // An integer for an enum: the field, and the values it takes.
    let r = s
        .send(
            Method::POST,
            contacts,
            tok,
            &json!({"kind": 1, "first_name": "Jan", "emails": [unique_email("c")]}),
        )
        .await;
    let p = r.assert_problem(422);
    assert_eq!(p["type"], "validation_error", "{p}");
    assert_eq!(p["field"], "kind", "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("person") && detail.contains("company"),
        "{p}"
    );

    // Nested in a list, with the exact path.
    let r = s
        .send(
            Method::POST,
            contacts,
            tok,
            &json!({"kind": "person", "first_name": "Jan", "emails": [unique_email("c")],
                    "addresses": [{"type": true, "street": "Kerkstraat 1", "postal_code": "3000", "city": "Leuven"}]}),
        )
        .await;
    let p = r.assert_problem(422);
    assert_eq!(p["field"], "addresses[0].type", "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("billing") && detail.contains("delivery") && detail.contains("other"),
        "{p}"
    );

    // A number no f64 holds is valid JSON: a 422 on its field.
    let body = format!(
        r#"{{"kind": "person", "first_name": "Jan", "emails": ["{}"], "vat_rate": 1e400}}"#,
        unique_email("c")
    );
    let r = s
        .send_raw(
            Method::POST,
            contacts,
            tok,
            "application/json",
            body.into_bytes(),
        )
        .await;
    let p = r.assert_problem(422);
    assert_eq!(p["field"], "vat_rate", "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("out of range"),
        "{p}"
    );

    // A patch with a wrong type on an optional enum.
    let id = s.create_contact(tok).await;
    let r = s
        .send(
            Method::PATCH,
            &format!("{contacts}/{id}"),
            tok,
            &json!({"kind": {"person": true}}),
        )
        .await;
    assert_eq!(r.assert_problem(422)["field"], "kind", "{:?}", r.body);

    // What is not JSON at all stays a 400 `malformed_json`.
    for broken in [
        &br#"{"kind": "person""#[..],
        br#"{"kind": "person"}}"#,
        br#"{"kind": "person"} trailing"#,
        br#"{"kind": [1,]}"#,
    ] {
        let r = s
            .send_raw(
                Method::POST,
                contacts,
                tok,
                "application/json",
                broken.to_vec(),
            )
            .await;
        let p = r.assert_problem(400);
        assert_eq!(
            p["type"],
            "malformed_json",
            "{}: {p}",
            String::from_utf8_lossy(broken)
        );
        assert!(p.get("field").is_none(), "{p}");
    }
    s.stop().await;
}

// Item 10 --------------------------------------------------------------------------------------

/// Sends a request head over a raw connection and no body, and answers what the server says
/// within `wait` (empty when it says nothing).
async fn head_only(s: &TestServer, head: &str, wait: Duration) -> String {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(wait, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn anonymous_uploads_are_refused_before_their_body_is_read() {
    let s = TestServer::start().await;
    let path = format!("/api/v1/opportunities/{}/documents", uuid::Uuid::now_v7());
    // 19 MiB announced, under the upload limit; not a byte of it is ever sent.
    for credentials in ["", "Authorization: Bearer not-a-token\r\n"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\n{credentials}\
             Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 19922944\r\n\r\n"
        );
        let answer = head_only(&s, &head, Duration::from_secs(3)).await;
        assert!(
            answer.starts_with("HTTP/1.1 401"),
            "no 401 within 3 s ({credentials:?}): {answer:?}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{answer}"
        );
    }
    // The same for a JSON write.
    let head = "POST /api/v1/contacts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                Content-Length: 900000\r\n\r\n";
    let answer = head_only(&s, head, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");

    // Routes that take anonymous callers still read their body.
    let t = s.tenant("go").await;
    let r = s
        .send(
            Method::POST,
            "/api/v1/auth/login",
            "",
            &json!({"email": t.admin_email, "password": t.admin_password}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    s.stop().await;
}

// Item 11 --------------------------------------------------------------------------------------

/// Sends a whole request over a raw connection and answers the JSON body of the answer
/// (`Null` when there is none).
async fn read_body(s: &TestServer, request: &str) -> Value {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn oversized_urls_and_headers_answer_problems() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();

    // ~100 KB: beyond what hyper parses at all (and what an `http::Uri` holds, so the request
    // goes out over a raw connection).
    let head = format!(
        "GET /api/v1/contacts?q={} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {tok}\r\n\r\n",
        "a".repeat(100_000)
    );
    let answer = head_only(&s, &head, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer:?}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json")
            && lower.contains("x-request-id: "),
        "{answer}"
    );
    let body = read_body(&s, &head).await;
    assert_eq!(body["type"], "uri_too_long", "{body}");
    assert_eq!(body["status"], 414, "{body}");
    // ~20 KB: parsed, refused by our own limit.
    let long = format!("/api/v1/contacts?q={}", "a".repeat(20_000));
    let r = s.send(Method::GET, &long, tok, &Value::Null).await;
    assert_eq!(
        r.assert_problem(414)["type"],
        "uri_too_long",
        "{:?}",
        r.body
    );

    // One huge header.
    let filler = "b".repeat(100_000);
    let r = s
        .send_with(
            Method::GET,
            "/api/v1/contacts",
            tok,
            &[("x-filler", filler.as_str())],
            Vec::new(),
        )
        .await;
    assert_eq!(
        r.assert_problem(431)["type"],
        "headers_too_large",
        "{:?}",
        r.body
    );
    // More headers than hyper takes.
    let names: Vec<String> = (0..150).map(|i| format!("x-h{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let r = s
        .send_with(Method::GET, "/api/v1/contacts", tok, &headers, Vec::new())
        .await;
    assert_eq!(
        r.assert_problem(431)["type"],
        "headers_too_large",
        "{:?}",
        r.body
    );

    // Ordinary requests are untouched.
    s.get("/api/v1/contacts?q=jan", tok).await.ok(200);
    s.stop().await;
}

// Item 18 --------------------------------------------------------------------------------------

#[tokio::test]
async fn a_lead_source_in_use_is_not_deleted_and_says_what_uses_it() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();

    let source = s.create_source(tok).await.str("id");
    s.post(
        "/api/v1/connectors",
        tok,
        json!({"partner": "Website", "name": "Site", "source_id": source}),
    )
    .await
    .ok(201);
    for _ in 0..2 {
        opportunity(&s, tok, json!({"source_id": source})).await;
    }
    let path = format!("/api/v1/lead-sources/{source}");
    let r = s.send(Method::DELETE, &path, tok, &Value::Null).await;
    let p = r.assert_problem(409);
    assert_eq!(p["type"], "source_in_use", "{p}");
    assert_eq!(
        p["used_by"],
        json!({"connectors": 1, "opportunities": 2}),
        "{p}"
    );
    // Nothing changed; deactivating is the way out.
    s.get(&path, tok).await.ok(200);
    s.patch(&path, tok, json!({"active": false})).await.ok(200);

    // Used by opportunities only: only they are named.
    let other = s.create_source(tok).await.str("id");
    opportunity(&s, tok, json!({"source_id": other})).await;
    let r = s
        .send(
            Method::DELETE,
            &format!("/api/v1/lead-sources/{other}"),
            tok,
            &Value::Null,
        )
        .await;
    assert_eq!(
        r.assert_problem(409)["used_by"],
        json!({"opportunities": 1}),
        "{:?}",
        r.body
    );

    // Another tenant's use is not this tenant's: an unused source goes.
    let unused = s.create_source(tok).await.str("id");
    s.delete(&format!("/api/v1/lead-sources/{unused}"), tok, Value::Null)
        .await
        .ok(204);
    s.get(&format!("/api/v1/lead-sources/{unused}"), tok)
        .await
        .problem(404, "not_found");
    s.stop().await;
}

// Item 19 --------------------------------------------------------------------------------------

/// Follows a `$ref` to its component.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The properties a schema declares, through `allOf` and `$ref`.
fn properties<'a>(doc: &'a Value, schema: &'a Value) -> Vec<(&'a String, &'a Value)> {
    let schema = resolve(doc, schema);
    let mut found: Vec<(&String, &Value)> = schema["properties"]
        .as_object()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        found.extend(properties(doc, part));
    }
    found
}

/// Whether a schema admits `null`: declared nullable (on itself or its `allOf`), or untyped.
fn admits_null(doc: &Value, schema: &Value) -> bool {
    if schema["nullable"] == true {
        return true;
    }
    let resolved = resolve(doc, schema);
    if resolved["nullable"] == true {
        return true;
    }
    // An untyped schema (`{}`, free-form JSON) admits anything.
    [
        "type",
        "properties",
        "$ref",
        "allOf",
        "oneOf",
        "anyOf",
        "enum",
    ]
    .iter()
    .all(|k| resolved.get(k).is_none())
}

/// Walks `value` along `schema`; lists every `null` at a place the schema does not declare
/// nullable, and every member the schema does not know.
fn nulls_undeclared(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let resolved = resolve(doc, schema);
    match value {
        Value::Null if !admits_null(doc, schema) => {
            out.push(format!("{at}: null, schema {schema}"));
        }
        Value::Null => {}
        Value::Object(members) => {
            let props = properties(doc, schema);
            if props.is_empty() {
                return; // a free-form object (`extensions`)
            }
            for (name, v) in members {
                match props.iter().find(|(n, _)| *n == name) {
                    Some((_, s)) => nulls_undeclared(doc, s, v, &format!("{at}.{name}"), out),
                    None => out.push(format!("{at}.{name}: not in the schema")),
                }
            }
        }
        Value::Array(items) => {
            let item = resolve(doc, resolved)
                .get("items")
                .or_else(|| {
                    resolved["allOf"]
                        .as_array()
                        .and_then(|a| a.iter().find_map(|p| resolve(doc, p).get("items")))
                })
                .cloned()
                .unwrap_or(Value::Null);
            for (i, v) in items.iter().enumerate() {
                nulls_undeclared(doc, &item, v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The schema of the JSON answer of `method path` with `status`, as the document declares it.
fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "no operation {method} {path}");
    let content = &op["responses"][status]["content"];
    let media = content
        .as_object()
        .and_then(|c| c.values().next())
        .unwrap_or_else(|| panic!("no content for {method} {path} {status}"));
    &media["schema"]
}

#[tokio::test]
async fn every_null_in_a_response_is_declared_nullable() {
    let s = TestServer::start().await;
    let doc = s.get("/api/v1/openapi.json", "").await.ok(200);
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();

    // Records with as many empty optional fields as the API allows.
    let contact = s
        .post(
            "/api/v1/contacts",
            tok,
            json!({"kind": "person", "last_name": unique("Null"), "emails": [unique_email("n")]}),
        )
        .await
        .ok(201);
    let cid = contact.str("id");
    let o = opportunity(&s, tok, json!({})).await;
    let oid = o.str("id");
    let source = s.create_source(tok).await.str("id");
    let connector = s
        .post(
            "/api/v1/connectors",
            tok,
            json!({"partner": "Website", "name": "Site"}),
        )
        .await
        .ok(201)
        .str("id");
    let user = s.create_user(tok, &["salesperson"], None).await;
    let op = s.operator().await;

    let reads: Vec<(&str, String, &str, String)> = vec![
        (
            "/api/v1/contacts/{id}",
            format!("/api/v1/contacts/{cid}"),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/contacts",
            "/api/v1/contacts".into(),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/opportunities/{id}",
            format!("/api/v1/opportunities/{oid}"),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/opportunities",
            "/api/v1/opportunities".into(),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/users/{id}",
            format!("/api/v1/users/{}", user.id),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/users",
            "/api/v1/users".into(),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/lead-sources/{id}",
            format!("/api/v1/lead-sources/{source}"),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/lead-sources",
            "/api/v1/lead-sources".into(),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/connectors/{id}",
            format!("/api/v1/connectors/{connector}"),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/connectors",
            "/api/v1/connectors".into(),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/reports/lead-sources",
            "/api/v1/reports/lead-sources".into(),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/activity",
            "/api/v1/activity".into(),
            "200",
            t.admin_token.clone(),
        ),
        (
            "/api/v1/me",
            "/api/v1/me".into(),
            "200",
            t.admin_token.clone(),
        ),
        ("/api/v1/me", "/api/v1/me".into(), "200", op.clone()),
        (
            "/api/v1/platform/tenants",
            "/api/v1/platform/tenants".into(),
            "200",
            op.clone(),
        ),
        (
            "/api/v1/companies",
            "/api/v1/companies".into(),
            "200",
            t.admin_token.clone(),
        ),
    ];
    let mut undeclared = Vec::new();
    let mut nulls = 0;
    for (template, path, status, token) in &reads {
        let body = s.get(path, token).await.ok(status.parse().unwrap());
        nulls += body.to_string().matches(":null").count();
        let schema = response_schema(&doc, template, "get", status);
        nulls_undeclared(&doc, schema, &body, path, &mut undeclared);
    }
    assert!(
        nulls > 10,
        "the sample holds too few nulls to prove anything"
    );
    assert!(
        undeclared.is_empty(),
        "nulls the document does not allow:\n{}",
        undeclared.join("\n")
    );
    s.stop().await;
}

/// Every schema a response can carry, by name, following references.
fn response_schemas(doc: &Value) -> Vec<String> {
    let mut todo: Vec<Value> = Vec::new();
    for ops in doc["paths"].as_object().unwrap().values() {
        for op in ops.as_object().unwrap().values() {
            for resp in op["responses"].as_object().into_iter().flatten() {
                for media in resp.1["content"].as_object().into_iter().flatten() {
                    todo.push(media.1["schema"].clone());
                }
            }
        }
    }
    let mut seen: Vec<String> = Vec::new();
    while let Some(v) = todo.pop() {
        match &v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    let name = r.trim_start_matches("#/components/schemas/").to_string();
                    if !seen.contains(&name) {
                        todo.push(doc["components"]["schemas"][&name].clone());
                        seen.push(name);
                    }
                }
                todo.extend(m.values().cloned());
            }
            Value::Array(a) => todo.extend(a.iter().cloned()),
            _ => {}
        }
    }
    seen
}

#[tokio::test]
async fn every_optional_response_field_is_declared_nullable() {
    // A response field that is not required and has no default is an `Option`, which goes
    // out as `null`: the document must say so, for every response type of every module.
    let s = TestServer::start().await;
    let doc = s.get("/api/v1/openapi.json", "").await.ok(200);
    let names = response_schemas(&doc);
    assert!(names.len() > 30, "{names:?}");
    let mut missing = Vec::new();
    for name in &names {
        let schema = &doc["components"]["schemas"][name];
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (prop, p) in schema["properties"].as_object().into_iter().flatten() {
            if !required.contains(&prop.as_str())
                && p.get("default").is_none()
                && !admits_null(&doc, p)
            {
                missing.push(format!("{name}.{prop}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "optional response fields not declared nullable:\n{}",
        missing.join("\n")
    );
    s.stop().await;
}
