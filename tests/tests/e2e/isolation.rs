//! One tenant's data is invisible to another tenant, to resellers and to anonymous callers.

use forecourt_tests::{Expect, Json, Method, PASSWORD, StatusCode, TestServer, unique_email};
use serde_json::{Value, json};

#[tokio::test]
async fn another_tenants_ids_are_not_found_and_stay_untouched() {
    let s = TestServer::start().await;
    let (a, b) = (s.tenant("expert").await, s.tenant("expert").await);
    let user = s
        .create_user(&a.admin_token, &["salesperson"], Some(&a.establishment_id))
        .await;
    let source = s.create_source(&a.admin_token).await.str("id");
    let key = s
        .post(
            "/api/v1/api-keys",
            &a.admin_token,
            json!({"name": "k", "user_id": user.id}),
        )
        .await
        .ok(201);

    let readable = [
        format!("/api/v1/users/{}", user.id),
        format!("/api/v1/users/{}/roles", user.id),
        format!("/api/v1/companies/{}", a.company_id),
        format!("/api/v1/establishments/{}", a.establishment_id),
        format!("/api/v1/lead-sources/{source}"),
    ];
    let mut before = Vec::new();
    for path in &readable {
        before.push(s.get(path, &a.admin_token).await.ok(200));
    }

    let hijack = json!({"name": "Hijacked"});
    let attacks = vec![
        (Method::GET, readable[0].clone(), Value::Null),
        (
            Method::PATCH,
            readable[0].clone(),
            json!({"name": "Hijacked", "active": false}),
        ),
        (Method::GET, readable[1].clone(), Value::Null),
        (
            Method::PUT,
            readable[1].clone(),
            json!({"roles": ["admin"]}),
        ),
        (Method::GET, readable[2].clone(), Value::Null),
        (Method::PATCH, readable[2].clone(), hijack.clone()),
        (Method::GET, readable[3].clone(), Value::Null),
        (Method::PATCH, readable[3].clone(), hijack.clone()),
        (Method::GET, readable[4].clone(), Value::Null),
        (Method::PATCH, readable[4].clone(), hijack),
        (Method::DELETE, readable[4].clone(), Value::Null),
        (
            Method::DELETE,
            format!("/api/v1/api-keys/{}", key.str("id")),
            Value::Null,
        ),
    ];
    let not_found =
        |status: StatusCode, reply: &Value| status == 404 && reply["type"] == "not_found";
    let leaks = s.unexpected(&b.admin_token, attacks, not_found).await;
    assert!(
        leaks.is_empty(),
        "cross-tenant requests not answered 404:\n{}",
        leaks.join("\n")
    );

    for (path, was) in readable.iter().zip(before) {
        assert_eq!(
            s.get(path, &a.admin_token).await.ok(200),
            was,
            "{path} changed"
        );
    }
    s.get("/api/v1/me", &key.str("key")).await.ok(200);
    s.login(&user.email, &user.password).await;

    for list in [
        "/api/v1/users",
        "/api/v1/companies",
        "/api/v1/establishments",
        "/api/v1/lead-sources",
        "/api/v1/api-keys",
    ] {
        let body = s.get(list, &b.admin_token).await.ok(200);
        let text = body.to_string();
        for id in [
            &user.id,
            &a.admin_user_id,
            &a.company_id,
            &a.establishment_id,
            &source,
        ] {
            assert!(
                !text.contains(id.as_str()),
                "{list} of tenant B shows {id} of tenant A: {body}"
            );
        }
    }
    let activity = format!("/api/v1/activity?entity_type=lead_source&entity_id={source}");
    let (status, body) = s.get(&activity, &b.admin_token).await;
    assert!(
        status == 404 || body["items"] == json!([]),
        "B reads A's activity: {status} {body}"
    );
}

#[tokio::test]
async fn another_tenants_ids_in_bodies_are_rejected() {
    let s = TestServer::start().await;
    let (a, b) = (s.tenant("expert").await, s.tenant("expert").await);
    let b_user = s.create_user(&b.admin_token, &["salesperson"], None).await;
    let user = json!({"name": "Trojan", "email": unique_email("t"), "password": PASSWORD, "roles": ["salesperson"], "establishment_id": a.establishment_id});
    let attempts = vec![
        (
            Method::POST,
            "/api/v1/establishments".to_string(),
            json!({"name": "Trojan", "company_id": a.company_id}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/establishments/{}", b.establishment_id),
            json!({"company_id": a.company_id}),
        ),
        (Method::POST, "/api/v1/users".to_string(), user),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", b_user.id),
            json!({"establishment_id": a.establishment_id}),
        ),
        (
            Method::POST,
            "/api/v1/api-keys".to_string(),
            json!({"name": "k", "user_id": a.admin_user_id}),
        ),
    ];
    let rejected = |status: StatusCode, _: &Value| status == 404 || status == 422;
    let accepted = s.unexpected(&b.admin_token, attempts, rejected).await;
    assert!(
        accepted.is_empty(),
        "another tenant's ids accepted:\n{}",
        accepted.join("\n")
    );
}

#[tokio::test]
async fn resellers_never_see_crm_data() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let reseller = s.create_reseller(&op).await;
    s.onboard(&reseller.token, "expert").await;
    for path in [
        "/api/v1/users",
        "/api/v1/lead-sources",
        "/api/v1/companies",
        "/api/v1/establishments",
        "/api/v1/permissions",
    ] {
        s.get(path, &reseller.token)
            .await
            .problem(403, "tenant_user_required");
    }
    let (status, _) = s
        .post(
            "/api/v1/lead-sources",
            &reseller.token,
            json!({"name": "Sneaky"}),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn anonymous_callers_get_nothing() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    for path in [
        "/api/v1/users".to_string(),
        "/api/v1/lead-sources".to_string(),
        "/api/v1/platform/tenants".to_string(),
        format!("/api/v1/users/{}", t.admin_user_id),
        format!("/api/v1/companies/{}", t.company_id),
    ] {
        let reply = s.send(Method::GET, &path, "", &Value::Null).await;
        assert_eq!(reply.assert_problem(401)["type"], "unauthorized", "{path}");
        assert!(
            !reply.body.to_string().contains(&t.tenant_id),
            "{path} leaks the tenant id"
        );
    }
}
