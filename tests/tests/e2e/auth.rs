//! Login, logout, throttling, suspension and API keys.

use forecourt_tests::{
    Expect, Json, Method, OPERATOR_EMAIL, OPERATOR_PASSWORD, PASSWORD, TestServer, unique_email,
};
use serde_json::{Value, json};

fn credentials(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password})
}

#[tokio::test]
async fn operator_logs_in() {
    let s = TestServer::start().await;
    let login = s
        .post(
            "/api/v1/auth/login",
            "",
            credentials(OPERATOR_EMAIL, OPERATOR_PASSWORD),
        )
        .await
        .ok(200);
    assert_eq!(login["kind"], "operator");
    assert_eq!(login["user"]["email"], OPERATOR_EMAIL);
    assert!(
        login["user"]["id"].is_string() && login["user"]["name"].is_string(),
        "{login}"
    );
    let me = s.get("/api/v1/me", &login.str("token")).await.ok(200);
    assert_eq!(me["kind"], "operator");
    assert_eq!(me["user"]["id"], login["user"]["id"]);
}

#[tokio::test]
async fn bad_credentials_give_no_hint() {
    let s = TestServer::start().await;
    let unknown = s
        .post(
            "/api/v1/auth/login",
            "",
            credentials(&unique_email("nobody"), "whatever-password"),
        )
        .await;
    let wrong = s
        .post(
            "/api/v1/auth/login",
            "",
            credentials(OPERATOR_EMAIL, "wrong-password-1"),
        )
        .await;
    let (unknown, wrong) = (
        unknown.problem(401, "unauthorized"),
        wrong.problem(401, "unauthorized"),
    );
    for key in ["type", "title", "detail"] {
        assert_eq!(
            unknown[key], wrong[key],
            "{key} differs between unknown email and wrong password"
        );
    }
}

#[tokio::test]
async fn five_failures_lock_the_account_for_a_while() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    for _ in 0..5 {
        s.post(
            "/api/v1/auth/login",
            "",
            credentials(&t.admin_email, "wrong-password-1"),
        )
        .await
        .problem(401, "unauthorized");
    }
    let locked = s
        .send(
            Method::POST,
            "/api/v1/auth/login",
            "",
            &credentials(&t.admin_email, PASSWORD),
        )
        .await;
    assert_eq!(locked.assert_problem(429)["type"], "too_many_attempts");
    assert!(
        locked.header("retry-after").parse::<u64>().is_ok(),
        "retry-after: {:?}",
        locked.headers
    );
    // Another account is not affected.
    s.operator().await;
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    s.get("/api/v1/me", &t.admin_token).await.ok(200);
    s.post("/api/v1/auth/logout", &t.admin_token, Value::Null)
        .await
        .ok(204);
    s.get("/api/v1/me", &t.admin_token)
        .await
        .problem(401, "unauthorized");
}

#[tokio::test]
async fn me_needs_valid_credentials() {
    let s = TestServer::start().await;
    s.get("/api/v1/me", "").await.problem(401, "unauthorized");
    s.get("/api/v1/me", "not-a-token")
        .await
        .problem(401, "unauthorized");
    s.get("/api/v1/me", &format!("fck_{}", "0".repeat(64)))
        .await
        .problem(401, "unauthorized");
}

#[tokio::test]
async fn suspended_tenant_cannot_log_in_until_reactivated() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let t = s.onboard(&op, "go").await;
    let path = format!("/api/v1/platform/tenants/{}", t.tenant_id);
    let suspended = s
        .patch(&path, &op, json!({"status": "suspended"}))
        .await
        .ok(200);
    assert_eq!(suspended["status"], "suspended");
    s.post(
        "/api/v1/auth/login",
        "",
        credentials(&t.admin_email, PASSWORD),
    )
    .await
    .problem(403, "tenant_suspended");
    let (status, _) = s.get("/api/v1/users", &t.admin_token).await;
    assert!(
        status == 401 || status == 403,
        "a suspended tenant's token still works: {status}"
    );

    s.patch(&path, &op, json!({"status": "active"}))
        .await
        .ok(200);
    s.login(&t.admin_email, PASSWORD).await;
}

#[tokio::test]
async fn api_key_acts_as_its_user_until_deleted() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let user = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let created = s
        .post(
            "/api/v1/api-keys",
            &t.admin_token,
            json!({"name": "Website form", "user_id": user.id}),
        )
        .await
        .ok(201);
    let key = created.str("key");
    assert!(key.starts_with("fck_"), "{key}");
    assert_eq!(created["user_id"], user.id.as_str());
    assert_eq!(created["name"], "Website form");

    let me = s.get("/api/v1/me", &key).await.ok(200);
    assert_eq!(me["user"]["id"], user.id.as_str());
    s.get("/api/v1/lead-sources", &key).await.ok(200);

    let list = s.get("/api/v1/api-keys", &t.admin_token).await.ok(200);
    assert!(list.ids().contains(&created.str("id")), "{list}");
    assert!(
        !list.to_string().contains(&key),
        "the key is shown again in the list: {list}"
    );

    s.delete(
        &format!("/api/v1/api-keys/{}", created.str("id")),
        &t.admin_token,
        Value::Null,
    )
    .await
    .ok(204);
    s.get("/api/v1/me", &key).await.problem(401, "unauthorized");
}
