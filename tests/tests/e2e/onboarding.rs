//! Operator, resellers and the one-call onboarding of a dealership.

use forecourt_tests::{
    Expect, Json, PASSWORD, TestServer, invitation_token, onboarding, unique_email,
};
use serde_json::json;

#[tokio::test]
async fn operator_onboards_a_tenant_whose_admin_sees_it_in_me() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let me = s.get("/api/v1/me", &t.admin_token).await.ok(200);
    assert_eq!(me["kind"], "tenant");
    assert_eq!(me["user"]["id"], t.admin_user_id.as_str());
    assert_eq!(me["user"]["email"], t.admin_email.as_str());
    assert_eq!(me["tenant"]["id"], t.tenant_id.as_str());
    assert_eq!(me["tenant"]["licence"], "go");
    assert_eq!(me["tenant"]["country"], "BE", "default country");
    assert_eq!(me["tenant"]["language"], "fr", "default language");
    assert!(
        me["roles"].as_array().unwrap().contains(&json!("admin")),
        "{me}"
    );
    assert!(
        !me["modules"]
            .as_array()
            .unwrap()
            .contains(&json!("sources")),
        "Go has no sources: {me}"
    );
}

#[tokio::test]
async fn onboarding_keeps_the_given_country_and_language() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let mut body = onboarding("expert", &unique_email("admin"), Some(PASSWORD));
    body["country"] = json!("NL");
    body["language"] = json!("nl");
    let id = s
        .post("/api/v1/platform/tenants", &op, body.clone())
        .await
        .ok(201)
        .str("tenant_id");
    let tenant = s
        .get(&format!("/api/v1/platform/tenants/{id}"), &op)
        .await
        .ok(200);
    assert_eq!(tenant["name"], body["name"]);
    assert_eq!(tenant["licence"], "expert");
    assert_eq!(tenant["status"], "active");
    assert_eq!(tenant["country"], "NL");
    assert_eq!(tenant["language"], "nl");
}

#[tokio::test]
async fn reseller_sees_and_manages_only_its_own_tenants() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let (r1, r2) = (s.create_reseller(&op).await, s.create_reseller(&op).await);
    let (t1, t2) = (
        s.onboard(&r1.token, "go").await,
        s.onboard(&r2.token, "expert").await,
    );

    let mine = s.get("/api/v1/platform/tenants", &r1.token).await.ok(200);
    assert_eq!(mine.ids(), vec![t1.tenant_id.clone()], "{mine}");
    let item = &mine.items()[0];
    assert_eq!(
        (&item["licence"], &item["status"]),
        (&json!("go"), &json!("active"))
    );
    assert_eq!(
        (&item["country"], &item["language"]),
        (&json!("BE"), &json!("fr"))
    );
    assert_eq!(item["reseller_id"], r1.id.as_str());
    assert!(
        item["name"].is_string() && item["created_at"].is_string(),
        "{item}"
    );
    assert!(
        !mine.ids().contains(&t2.tenant_id),
        "a reseller lists another's tenant: {mine}"
    );
    let all = s.get("/api/v1/platform/tenants", &op).await.ok(200).ids();
    assert!(all.contains(&t1.tenant_id) && all.contains(&t2.tenant_id));

    let own = s
        .get(
            &format!("/api/v1/platform/tenants/{}", t1.tenant_id),
            &r1.token,
        )
        .await
        .ok(200);
    assert_eq!(own["reseller_id"], r1.id.as_str());
    let other = format!("/api/v1/platform/tenants/{}", t2.tenant_id);
    s.get(&other, &r1.token).await.problem(404, "not_found");
    s.patch(&other, &r1.token, json!({"status": "suspended"}))
        .await
        .problem(404, "not_found");
    let t2_now = s.get(&other, &op).await.ok(200);
    assert_eq!(
        t2_now["status"], "active",
        "another reseller's PATCH changed the tenant"
    );

    let renamed = s
        .patch(
            &format!("/api/v1/platform/tenants/{}", t1.tenant_id),
            &r1.token,
            json!({"name": "Renamed Motors"}),
        )
        .await
        .ok(200);
    assert_eq!(renamed["name"], "Renamed Motors");

    let resellers = s.get("/api/v1/platform/resellers", &op).await.ok(200).ids();
    assert!(resellers.contains(&r1.id) && resellers.contains(&r2.id));
}

#[tokio::test]
async fn only_the_operator_creates_resellers_and_only_platform_users_onboard() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let reseller = s.create_reseller(&op).await;
    let t = s.onboard(&reseller.token, "go").await;
    let body = json!({"name": "Sneaky", "user": {"email": unique_email("r"), "name": "x", "password": PASSWORD}});
    for token in [&reseller.token, &t.admin_token] {
        let (status, _) = s
            .post("/api/v1/platform/resellers", token, body.clone())
            .await;
        assert_eq!(status, 403, "non-operator created a reseller");
    }
    let onboard = onboarding("go", &unique_email("admin"), Some(PASSWORD));
    let (status, _) = s
        .post("/api/v1/platform/tenants", &t.admin_token, onboard)
        .await;
    assert_eq!(status, 403, "a tenant user onboarded a tenant");
    let (status, _) = s.get("/api/v1/platform/resellers", &reseller.token).await;
    assert_eq!(status, 403, "a reseller listed resellers");
}

#[tokio::test]
async fn invalid_onboarding_is_rejected() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let t = s.onboard(&op, "go").await;
    let dup = onboarding("go", &t.admin_email, Some(PASSWORD));
    let (status, body) = s.post("/api/v1/platform/tenants", &op, dup).await;
    assert_eq!(status, 409, "duplicate admin email: {body}");

    let bad = s
        .post(
            "/api/v1/platform/tenants",
            &op,
            onboarding("platinum", &unique_email("a"), Some(PASSWORD)),
        )
        .await;
    bad.invalid("licence");
}

#[tokio::test]
async fn invited_admin_sets_a_password_once() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let email = unique_email("invited");
    s.post(
        "/api/v1/platform/tenants",
        &op,
        onboarding("expert", &email, None),
    )
    .await
    .ok(201);
    let mail = s.wait_for_mail(&email).await;
    let token = invitation_token(&mail).unwrap_or_else(|| panic!("no token= in mail:\n{mail}"));
    assert!(
        token.starts_with("fci_") && token.len() == 68,
        "token {token}"
    );

    let accept = |password: &str| json!({"token": token, "password": password});
    let short = s
        .post("/api/v1/auth/accept-invitation", "", accept("short"))
        .await;
    short.invalid("password");
    s.post(
        "/api/v1/auth/accept-invitation",
        "",
        accept("a-good-long-password"),
    )
    .await
    .ok(204);
    let me = s
        .get("/api/v1/me", &s.login(&email, "a-good-long-password").await)
        .await
        .ok(200);
    assert_eq!(me["user"]["email"], email.as_str());

    let again = s
        .post(
            "/api/v1/auth/accept-invitation",
            "",
            accept("another-long-password"),
        )
        .await;
    again.problem(404, "not_found");
    let unknown =
        json!({"token": format!("fci_{}", "0".repeat(64)), "password": "a-good-long-password"});
    s.post("/api/v1/auth/accept-invitation", "", unknown)
        .await
        .problem(404, "not_found");
}
