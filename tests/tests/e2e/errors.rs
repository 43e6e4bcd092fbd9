//! Problem documents for everything a client can get wrong.

use forecourt_tests::{Expect, Json, Method, PASSWORD, TestServer, unique, unique_email};
use serde_json::{Value, json};

#[tokio::test]
async fn unknown_route_and_wrong_method_are_problems() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    for token in ["", op.as_str()] {
        let missing = s
            .send(Method::GET, "/api/v1/nope", token, &Value::Null)
            .await;
        missing.assert_problem(404);
    }
    let wrong = s
        .send(
            Method::PUT,
            "/api/v1/auth/login",
            "",
            &json!({"email": "a@b.c", "password": "x"}),
        )
        .await;
    wrong.assert_problem(405);
    assert_eq!(wrong.header("allow"), "POST", "{wrong:?}");
    // With an id in the path, and as a tenant's user: the methods of that path.
    let t = s.tenant("go").await;
    let contact = s.create_contact(&t.admin_token).await;
    let put = s
        .send(
            Method::PUT,
            &format!("/api/v1/contacts/{contact}"),
            &t.admin_token,
            &json!({}),
        )
        .await;
    put.assert_problem(405);
    let mut allow: Vec<&str> = put.header("allow").split(", ").collect();
    allow.sort_unstable();
    assert_eq!(allow, ["DELETE", "GET", "HEAD", "PATCH"], "{put:?}");
    // HEAD on a GET route is no 405.
    let head = s
        .send(
            Method::HEAD,
            &format!("/api/v1/contacts/{contact}"),
            &t.admin_token,
            &Value::Null,
        )
        .await;
    assert_eq!(head.status, 200, "{head:?}");
}

#[tokio::test]
async fn malformed_oversized_and_incomplete_bodies() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let post = |content_type: &'static str, bytes: Vec<u8>| {
        s.send_raw(
            Method::POST,
            "/api/v1/lead-sources",
            &t.admin_token,
            content_type,
            bytes,
        )
    };
    let malformed = post("application/json", br#"{"name": "Half"#.to_vec()).await;
    assert!(
        [400, 422].contains(&malformed.status.as_u16()),
        "malformed JSON: {malformed:?}"
    );
    malformed.assert_problem(malformed.status.as_u16());

    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(1024 * 1024 + 10));
    post("application/json", huge.into_bytes())
        .await
        .assert_problem(413);

    let missing = s
        .post("/api/v1/lead-sources", &t.admin_token, json!({}))
        .await
        .ok(422);
    assert!(
        names(&missing, "name"),
        "the missing field is not named: {missing}"
    );
    let wrong_type = s
        .post("/api/v1/lead-sources", &t.admin_token, json!({"name": 42}))
        .await;
    assert!(
        [400, 422].contains(&wrong_type.0.as_u16()),
        "name as a number: {wrong_type:?}"
    );
}

/// Whether a problem names `field`, in its `field` member or its `detail`.
fn names(problem: &Value, field: &str) -> bool {
    problem["field"] == field
        || problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(field))
}

/// Posts `body` with an extra server-owned `field` and checks nothing was created.
async fn rejects_server_owned(
    s: &TestServer,
    token: &str,
    path: &str,
    body: Value,
    field: &str,
    value: Value,
) {
    let before = s.get(path, token).await.ok(200).ids();
    let mut sneaky = body;
    sneaky[field] = value;
    let reply = s.post(path, token, sneaky).await.ok(422);
    assert!(
        names(&reply, field),
        "POST {path} with {field}: the problem does not name it: {reply}"
    );
    assert_eq!(
        s.get(path, token).await.ok(200).ids(),
        before,
        "POST {path} with {field} created something"
    );
}

#[tokio::test]
async fn clients_cannot_set_server_owned_fields() {
    let s = TestServer::start().await;
    let (t, other) = (s.tenant("expert").await, s.tenant("expert").await);
    let tok = t.admin_token.as_str();
    let fake_id = json!("00000000-0000-7000-8000-000000000000");
    let source = || json!({"name": unique("Source")});
    rejects_server_owned(
        &s,
        tok,
        "/api/v1/lead-sources",
        source(),
        "tenant_id",
        json!(other.tenant_id),
    )
    .await;
    rejects_server_owned(
        &s,
        tok,
        "/api/v1/lead-sources",
        source(),
        "id",
        fake_id.clone(),
    )
    .await;
    rejects_server_owned(
        &s,
        tok,
        "/api/v1/lead-sources",
        source(),
        "created_at",
        json!("2001-01-01T00:00:00Z"),
    )
    .await;
    rejects_server_owned(
        &s,
        tok,
        "/api/v1/companies",
        json!({"name": unique("Co")}),
        "tenant_id",
        json!(other.tenant_id),
    )
    .await;
    let user = json!({"email": unique_email("u"), "name": "U", "password": PASSWORD, "roles": ["salesperson"]});
    rejects_server_owned(&s, tok, "/api/v1/users", user, "id", fake_id).await;

    let path = format!(
        "/api/v1/lead-sources/{}",
        s.create_source(tok).await.str("id")
    );
    let reply = s
        .patch(&path, tok, json!({"updated_at": "2001-01-01T00:00:00Z"}))
        .await
        .ok(422);
    assert!(reply.to_string().contains("updated_at"), "{reply}");
    let (status, _) = s.get(&path, &other.admin_token).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let calls = [
        (Method::GET, "/healthz", ""),
        (Method::GET, "/api/v1/me", op.as_str()),
        (Method::GET, "/api/v1/me", ""),
        (Method::GET, "/api/v1/nope", ""),
    ];
    for (method, path, token) in calls {
        let reply = s.send(method.clone(), path, token, &Value::Null).await;
        assert!(
            !reply.header("x-request-id").is_empty(),
            "{method} {path} ({}) has no x-request-id",
            reply.status
        );
    }
}

#[tokio::test]
async fn parameters_of_the_wrong_type_are_named() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    for (path, field) in [
        ("/api/v1/lead-sources?active=maybe", "active"),
        ("/api/v1/contacts?limit=lots", "limit"),
    ] {
        let r = s
            .send(Method::GET, path, &t.admin_token, &Value::Null)
            .await;
        let p = r.assert_problem(422);
        assert_eq!(p["type"], "validation_error", "{path}: {p}");
        assert_eq!(p["field"], field, "{path}: {p}");
    }
    // A malformed id names no resource.
    let r = s
        .send(
            Method::GET,
            "/api/v1/contacts/not-a-uuid",
            &t.admin_token,
            &Value::Null,
        )
        .await;
    assert_eq!(r.assert_problem(404)["type"], "not_found");
}
