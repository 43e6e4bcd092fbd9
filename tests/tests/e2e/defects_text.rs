//! Issue 9, items 6 and 8: every text input goes through one check. A control character
//! (a NUL answered 500 on PostgreSQL and was stored on SQLite) is a 422 naming the field,
//! in JSON bodies, query parameters, the login and signed inbound leads (JSON and ADF); every
//! string field of a request body has a documented `maxLength`, enforced with a 422.

use crate::connectors::sign;
use forecourt_tests::{
    Expect, Json, Method, PASSWORD, StatusCode, TestServer, unique, unique_email,
};
use serde_json::{Value, json};

const NUL: &str = "a\u{0}b";

/// Asserts the 422 `validation_error` problem naming `field`; answers its body.
#[track_caller]
fn refused(reply: forecourt_tests::Reply, field: &str, what: &str) -> Value {
    let body = reply.assert_problem(422).clone();
    assert_eq!(body["type"], "validation_error", "{what}: {body}");
    assert_eq!(body["field"], field, "{what}: {body}");
    assert!(
        !body.to_string().contains("\\u0000"),
        "{what}: the answer never quotes the character: {body}"
    );
    body
}

async fn opportunity(s: &TestServer, tok: &str, contact: &str, info: &str) -> String {
    s.post(
        "/api/v1/opportunities",
        tok,
        json!({"contacts": [{"contact_id": contact}], "customer_info": info}),
    )
    .await
    .ok(201)
    .str("id")
}

#[tokio::test]
async fn a_control_character_in_any_body_or_query_parameter_is_refused_naming_the_field() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let t = s.onboard(&op, "expert").await;
    let tok = t.admin_token.as_str();
    let contact = s.create_contact(tok).await;
    let opp = opportunity(&s, tok, &contact, "a Corsa").await;
    let sources = s
        .get("/api/v1/lead-sources", tok)
        .await
        .ok(200)
        .items()
        .len();

    let person = |extra: Value| {
        let mut b =
            json!({"kind": "person", "last_name": "Peeters", "emails": [unique_email("c")]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let mut onboarding = forecourt_tests::onboarding("go", &unique_email("admin"), Some(PASSWORD));
    onboarding["company"]["name"] = json!(NUL);

    // (method, path, token, body, field): a representative field of many routes.
    let cases: Vec<(Method, String, &str, Value, &str)> = vec![
        (Method::POST, "/api/v1/contacts".into(), tok, person(json!({"first_name": NUL})), "first_name"),
        (Method::POST, "/api/v1/contacts".into(), tok, person(json!({"emails": ["jan@example.be", "x\u{0}@example.be"]})), "emails[1]"),
        (Method::POST, "/api/v1/contacts".into(), tok, person(json!({"addresses": [{"type": "billing", "street": "Kerkstraat 1", "postal_code": "3000", "city": NUL}]})), "addresses[0].city"),
        (Method::POST, "/api/v1/contacts".into(), tok, person(json!({"kind": "person\u{0}"})), "kind"),
        (Method::POST, "/api/v1/contacts".into(), tok, person(json!({"first_name": "a\rb"})), "first_name"),
        (Method::POST, "/api/v1/contacts".into(), tok, person(json!({"position": "\u{1b}[31m"})), "position"),
        (Method::PATCH, format!("/api/v1/contacts/{contact}"), tok, json!({"comments": NUL}), "comments"),
        (Method::PATCH, format!("/api/v1/contacts/{contact}"), tok, json!({"groups": ["vip", NUL]}), "groups[1]"),
        (Method::POST, "/api/v1/opportunities".into(), tok, json!({"contacts": [{"contact_id": contact, "role": NUL}]}), "contacts[0].role"),
        (Method::PATCH, format!("/api/v1/opportunities/{opp}"), tok, json!({"customer_info": NUL}), "customer_info"),
        (Method::POST, format!("/api/v1/opportunities/{opp}/status"), tok, json!({"status": "lost", "reason": NUL}), "reason"),
        (Method::POST, format!("/api/v1/opportunities/{opp}/comments"), tok, json!({"text": NUL}), "text"),
        (Method::POST, format!("/api/v1/opportunities/{opp}/trade-ins"), tok, json!({"make": "Ford", "model": NUL}), "model"),
        (Method::POST, "/api/v1/users".into(), tok, json!({"email": unique_email("u"), "name": NUL, "password": PASSWORD}), "name"),
        (Method::POST, "/api/v1/lead-sources".into(), tok, json!({"name": NUL}), "name"),
        (Method::POST, "/api/v1/connectors".into(), tok, json!({"partner": NUL, "name": "Leads"}), "partner"),
        (Method::POST, "/api/v1/companies".into(), tok, json!({"name": NUL}), "name"),
        (Method::POST, "/api/v1/permissions".into(), tok, json!({"subject": "role:x\u{0}", "object": "contacts", "action": "read", "scope": "own"}), "subject"),
        (Method::POST, "/api/v1/platform/tenants".into(), op.as_str(), onboarding, "company.name"),
        // Unauthenticated: the login is checked like everything else.
        (Method::POST, "/api/v1/auth/login".into(), "", json!({"email": "a\u{0}@example.be", "password": PASSWORD}), "email"),
        // Query parameters, percent-encoded, by their name.
        (Method::GET, "/api/v1/search?q=a%00b".into(), tok, Value::Null, "q"),
        (Method::GET, "/api/v1/contacts?q=jan%00".into(), tok, Value::Null, "q"),
        (Method::GET, "/api/v1/activity?entity_type=contact%00&entity_id=00000000-0000-0000-0000-000000000000".into(), tok, Value::Null, "entity_type"),
        (Method::GET, "/api/v1/permissions?subject=role%3Aadmin%00".into(), tok, Value::Null, "subject"),
        (Method::GET, "/api/v1/opportunities?status=new%00".into(), tok, Value::Null, "status"),
        (Method::GET, "/api/v1/opportunities?status=new%0D%0A".into(), tok, Value::Null, "status"),
    ];
    for (method, path, token, body, field) in cases {
        let what = format!("{method} {path} {body}");
        refused(s.send(method, &path, token, &body).await, field, &what);
    }

    // Nothing was stored: one contact, its opportunity untouched, no comment, no source,
    // no connector, no second company, one tenant more than before.
    assert_eq!(
        s.get("/api/v1/contacts", tok).await.ok(200).items().len(),
        1
    );
    let o = s
        .get(&format!("/api/v1/opportunities/{opp}"), tok)
        .await
        .ok(200);
    assert_eq!(o["customer_info"], "a Corsa");
    assert_eq!(o["status"], "new");
    let comments = format!("/api/v1/opportunities/{opp}/comments");
    assert!(s.get(&comments, tok).await.ok(200).items().is_empty());
    let after = s.get("/api/v1/lead-sources", tok).await.ok(200).items();
    assert_eq!(after.len(), sources, "{after:?}");
    assert!(
        s.get("/api/v1/connectors", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );
    assert_eq!(
        s.get("/api/v1/companies", tok).await.ok(200).items().len(),
        1
    );

    // What text legitimately holds still passes: tabs and line ends (CR too, in free text).
    let c = s
        .post(
            "/api/v1/contacts",
            tok,
            person(json!({"first_name": "Jan\tPiet", "comments": "line one\r\nline two"})),
        )
        .await
        .ok(201);
    assert_eq!(c["first_name"], "Jan\tPiet");
    assert_eq!(c["comments"], "line one\r\nline two");
}

// ---------------------------------------------------------------------------------------------
// Inbound leads, signed as a partner signs them.

async fn deliver(
    s: &TestServer,
    connector: &Value,
    content_type: &str,
    body: &[u8],
) -> forecourt_tests::Reply {
    let id = unique("msg");
    let ts = chrono::Utc::now().timestamp();
    let signature = sign(connector["secret"].as_str().unwrap(), &id, ts, body);
    let ts = ts.to_string();
    let headers = [
        ("content-type", content_type),
        ("webhook-id", id.as_str()),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", signature.as_str()),
    ];
    let path = format!("/inbound/{}/leads", connector["id"].as_str().unwrap());
    s.send_with(Method::POST, &path, "", &headers, body.to_vec())
        .await
}

fn adf(name: &str, comments: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><adf><prospect><id source=\"AS24\">{}</id>\
         <vehicle interest=\"buy\"><make>Opel</make><model>Corsa</model></vehicle>\
         <customer><contact><name part=\"full\">{name}</name><email>{}</email></contact>\
         <comments>{comments}</comments></customer></prospect></adf>",
        unique("L"),
        unique_email("lead")
    )
    .into_bytes()
}

#[tokio::test]
async fn a_control_character_in_a_signed_lead_is_refused_naming_the_field() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let c = s
        .post(
            "/api/v1/connectors",
            tok,
            json!({"partner": "AutoScout24", "name": "AutoScout24 Leuven"}),
        )
        .await
        .ok(201);

    let json_lead = |first_name: &str| {
        json!({"prospects": [{
            "ids": [{"value": unique("L"), "source": "AS24"}],
            "customer": {"first_name": first_name, "last_name": "Peeters", "emails": [unique_email("lead")]}
        }]})
        .to_string()
        .into_bytes()
    };
    let r = deliver(&s, &c, "application/json", &json_lead(NUL)).await;
    let body = r.assert_problem(422).clone();
    assert_eq!(body["field"], "prospects[0].customer.first_name", "{body}");
    assert_eq!(body["type"], "validation_error", "{body}");
    assert!(body["delivery_id"].is_string(), "{body}");

    // ADF: a NUL written as a character reference, and raw control characters.
    for (doc, field) in [
        (
            adf("Jan&#0;Peeters", "Hello"),
            "prospect/customer/contact/name",
        ),
        (
            adf("Jan&#x0;Peeters", "Hello"),
            "prospect/customer/contact/name",
        ),
        (
            adf("Jan Peeters", "Hello&#1;"),
            "prospect/customer/comments",
        ),
        (
            adf("Jan\u{0}Peeters", "Hello"),
            "prospect/customer/contact/name",
        ),
        (
            adf("Jan Peeters", "\u{7}Hello"),
            "prospect/customer/comments",
        ),
    ] {
        let what = String::from_utf8_lossy(&doc).to_string();
        let r = deliver(&s, &c, "application/xml", &doc).await;
        let body = r.assert_problem(422).clone();
        assert_eq!(body["type"], "validation_error", "{what}: {body}");
        assert_eq!(body["field"], field, "{what}: {body}");
    }

    // Refused, logged (the log stores the problem: it must not carry the character either),
    // and nothing landed.
    let log = s
        .get(
            &format!("/api/v1/connectors/{}/deliveries", c.str("id")),
            tok,
        )
        .await
        .ok(200)
        .items();
    assert_eq!(log.len(), 6, "every refused delivery is logged");
    assert!(log.iter().all(|d| d["status_code"] == 422), "{log:?}");
    assert!(
        s.get("/api/v1/opportunities", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );
    assert!(
        s.get("/api/v1/contacts", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );

    // The same lead without the character lands; CR and tabs in the customer's words pass.
    let r = deliver(&s, &c, "application/json", &json_lead("Jan")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = deliver(
        &s,
        &c,
        "application/xml",
        &adf("Marie Peeters", "Line&#13;\n\tTwo"),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

// ---------------------------------------------------------------------------------------------
// Lengths.

#[tokio::test]
async fn over_long_text_is_refused_naming_the_field_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let contact = s.create_contact(tok).await;
    let opp = opportunity(&s, tok, &contact, "a Corsa").await;
    let long = |n: usize| "x".repeat(n);

    let cases: Vec<(Method, String, Value, &str)> = vec![
        // 100 000 characters: far over any limit, well under the body limit.
        (
            Method::POST,
            "/api/v1/opportunities".into(),
            json!({"contacts": [{"contact_id": contact}], "customer_info": long(100_000)}),
            "customer_info",
        ),
        (
            Method::POST,
            "/api/v1/opportunities".into(),
            json!({"contacts": [{"contact_id": contact}], "customer_info": long(4001)}),
            "customer_info",
        ),
        (
            Method::PATCH,
            format!("/api/v1/opportunities/{opp}"),
            json!({"customer_info": long(4001)}),
            "customer_info",
        ),
        (
            Method::POST,
            format!("/api/v1/opportunities/{opp}/status"),
            json!({"status": "lost", "reason": long(2001)}),
            "reason",
        ),
        (
            Method::POST,
            format!("/api/v1/opportunities/{opp}/trade-ins"),
            json!({"make": "Ford", "model": "Fiesta", "vin": long(33)}),
            "vin",
        ),
        (
            Method::POST,
            format!("/api/v1/opportunities/{opp}/trade-ins"),
            json!({"make": "Ford", "model": "Fiesta", "condition": long(61)}),
            "condition",
        ),
        (
            Method::POST,
            format!("/api/v1/opportunities/{opp}/vehicle-requests"),
            json!({"interest": "buy", "make": "Opel", "model": "Corsa", "vin": long(33)}),
            "vin",
        ),
        (
            Method::POST,
            format!("/api/v1/opportunities/{opp}/vehicle-requests"),
            json!({"interest": "buy", "make": "Opel", "model": "Corsa", "condition": long(61)}),
            "condition",
        ),
        (
            Method::POST,
            format!("/api/v1/opportunities/{opp}/test-drives"),
            json!({"driver_contact_id": contact, "vehicle": long(201)}),
            "vehicle",
        ),
        (
            Method::POST,
            "/api/v1/contacts".into(),
            json!({"kind": "person", "last_name": "P", "emails": [format!("{}@example.be", long(250))]}),
            "emails[0]",
        ),
        (
            Method::PATCH,
            format!("/api/v1/contacts/{contact}"),
            json!({"comments": long(4001)}),
            "comments",
        ),
    ];
    for (method, path, body, field) in cases {
        let what = format!("{method} {path} {field}");
        let problem = refused(s.send(method, &path, tok, &body).await, field, &what);
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("characters"), "{what}: {problem}");
    }

    // Nothing stored.
    let o = s
        .get(&format!("/api/v1/opportunities/{opp}"), tok)
        .await
        .ok(200);
    assert_eq!(o["customer_info"], "a Corsa");
    assert_eq!(o["status"], "new");
    assert_eq!(
        s.get("/api/v1/opportunities", tok)
            .await
            .ok(200)
            .items()
            .len(),
        1
    );
    for kind in ["trade-ins", "vehicle-requests", "test-drives"] {
        let list = s
            .get(&format!("/api/v1/opportunities/{opp}/{kind}"), tok)
            .await
            .ok(200);
        assert!(list.items().is_empty(), "{kind}: {list}");
    }
    assert_eq!(
        s.get("/api/v1/contacts", tok).await.ok(200).items().len(),
        1
    );

    // The limit counts characters, not bytes: 4000 two-byte characters are accepted.
    let wide = "é".repeat(4000);
    let patched = s
        .patch(
            &format!("/api/v1/opportunities/{opp}"),
            tok,
            json!({"customer_info": wide}),
        )
        .await
        .ok(200);
    assert_eq!(patched["customer_info"], wide);
    let status = s
        .post(
            &format!("/api/v1/opportunities/{opp}/status"),
            tok,
            json!({"status": "lost", "reason": long(2000)}),
        )
        .await
        .ok(200);
    assert_eq!(status["status"], "lost");
}

/// The kinds of strings that carry no free text, so need no `maxLength`.
fn bounded_by_format(schema: &Value) -> bool {
    schema.get("enum").is_some()
        || matches!(
            schema["format"].as_str(),
            Some("uuid" | "date" | "date-time" | "naive-date" | "naive-date-time" | "binary")
        )
}

/// Every string property reachable from `schema` that lacks `maxLength`, as `Type.field`.
fn unbounded(doc: &Value, schema: &Value, at: &str, seen: &mut Vec<String>, out: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_string());
        unbounded(doc, &doc["components"]["schemas"][name], name, seen, out);
        return;
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            unbounded(doc, part, at, seen, out);
        }
    }
    if schema["type"] == "string" && schema.get("maxLength").is_none() && !bounded_by_format(schema)
    {
        let all_of_bounds = schema["allOf"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p.get("maxLength").is_some());
        if !all_of_bounds {
            out.push(at.to_string());
        }
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, p) in props {
            unbounded(doc, p, &format!("{at}.{name}"), seen, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if schema[key].is_object() {
            unbounded(doc, &schema[key], &format!("{at}[]"), seen, out);
        }
    }
}

#[tokio::test]
async fn every_string_of_every_request_body_has_a_documented_maximum() {
    let s = TestServer::start().await;
    let doc = s.get("/api/v1/openapi.json", "").await.ok(200);
    let mut seen = Vec::new();
    let mut missing = Vec::new();
    let mut bodies = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for (ct, media) in content {
                if !ct.contains("json") {
                    continue;
                }
                bodies += 1;
                unbounded(
                    &doc,
                    &media["schema"],
                    &format!("{method} {path}"),
                    &mut seen,
                    &mut missing,
                );
            }
        }
    }
    assert!(bodies > 30, "only {bodies} JSON request bodies found");
    assert!(
        missing.is_empty(),
        "string fields of request bodies without maxLength (add \
         #[oai(validator(max_length = N))]):\n{}",
        missing.join("\n")
    );
    // The limits are the ones enforced.
    let contact = &doc["components"]["schemas"]["ContactBody"]["properties"]["first_name"];
    assert_eq!(contact["maxLength"], 100, "{contact}");
}
