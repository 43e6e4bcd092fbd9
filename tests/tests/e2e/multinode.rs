//! Two nodes on one database: changes made on one apply on the other within seconds.

use forecourt_tests::{Expect, Method, PROPAGATION, Tenant, TestServer, unique};
use serde_json::{Value, json};

#[tokio::test]
async fn grant_and_revoke_reach_the_other_node() {
    let a = TestServer::start().await;
    let b = TestServer::start_sharing(&a, |_| {}).await;
    let t = a.tenant("expert").await;
    let sp = a
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    b.post(
        "/api/v1/lead-sources",
        &sp.token,
        json!({"name": unique("S")}),
    )
    .await
    .problem(403, "forbidden");

    let grant = json!({"subject": format!("user:{}", sp.id), "object": "settings.sources", "action": "write", "scope": "tenant"});
    a.post("/api/v1/permissions", &t.admin_token, grant.clone())
        .await
        .ok(201);
    let source = || json!({"name": unique("S")});
    let on_b = b
        .poll_until(
            PROPAGATION,
            Method::POST,
            "/api/v1/lead-sources",
            &sp.token,
            source,
            201,
        )
        .await;
    on_b.ok(201);

    a.delete("/api/v1/permissions", &t.admin_token, grant)
        .await
        .ok(204);
    let on_b = b
        .poll_until(
            PROPAGATION,
            Method::POST,
            "/api/v1/lead-sources",
            &sp.token,
            source,
            403,
        )
        .await;
    on_b.problem(403, "forbidden");
}

/// Two nodes on one database and an Expert tenant whose admin works on both.
async fn two_nodes() -> (TestServer, TestServer, Tenant) {
    let a = TestServer::start().await;
    let b = TestServer::start_sharing(&a, |_| {}).await;
    let t = a.tenant("expert").await;
    // Both nodes have now read (and may cache) the tenant's state.
    for node in [&a, &b] {
        node.get("/api/v1/lead-sources", &t.admin_token)
            .await
            .ok(200);
    }
    (a, b, t)
}

/// Polls a GET on `node` until it answers `status` and checks the problem type.
async fn sees(node: &TestServer, path: &str, token: &str, status: u16, kind: &str) {
    let reply = node.poll_get(path, token, status).await;
    reply.problem(status, kind);
}

#[tokio::test]
async fn module_toggles_reach_the_other_node() {
    let (a, b, t) = two_nodes().await;
    let toggle = |enabled: bool| json!({"module": "sources", "enabled": enabled});
    a.patch("/api/v1/settings/modules", &t.admin_token, toggle(false))
        .await
        .ok(200);
    sees(
        &b,
        "/api/v1/lead-sources",
        &t.admin_token,
        403,
        "module_disabled",
    )
    .await;
    a.patch("/api/v1/settings/modules", &t.admin_token, toggle(true))
        .await
        .ok(200);
    let back = b
        .poll_get("/api/v1/lead-sources", &t.admin_token, 200)
        .await;
    back.ok(200);
}

#[tokio::test]
async fn licence_changes_reach_the_other_node() {
    let (a, b, t) = two_nodes().await;
    let op = b.operator().await;
    let path = format!("/api/v1/platform/tenants/{}", t.tenant_id);
    b.patch(&path, &op, json!({"licence": "go"})).await.ok(200);
    sees(
        &a,
        "/api/v1/lead-sources",
        &t.admin_token,
        403,
        "module_not_licensed",
    )
    .await;
}

#[tokio::test]
async fn logout_reaches_the_other_node() {
    let (a, b, t) = two_nodes().await;
    a.post("/api/v1/auth/logout", &t.admin_token, Value::Null)
        .await
        .ok(204);
    sees(&b, "/api/v1/me", &t.admin_token, 401, "unauthorized").await;
}

#[tokio::test]
async fn suspension_reaches_the_other_node() {
    let (a, b, other) = two_nodes().await;
    let op = a.operator().await;
    let path = format!("/api/v1/platform/tenants/{}", other.tenant_id);
    a.patch(&path, &op, json!({"status": "suspended"}))
        .await
        .ok(200);
    let (status, body) = b
        .poll_get("/api/v1/lead-sources", &other.admin_token, 403)
        .await;
    assert!(
        status == 401 || status == 403,
        "a suspended tenant still works on node B: {status} {body}"
    );
}

/// A user's principal (establishment, active flag) is kept in process by each node: moving a
/// user to another site applies at once on the node that made the change and within
/// seconds on the other, and so does a deactivation.
#[tokio::test]
async fn moves_and_deactivations_reach_both_nodes() {
    let (a, b, t) = two_nodes().await;
    // Managers read contacts of their own establishment only.
    let tenant_read = json!({"subject": "role:manager", "object": "contacts", "action": "read", "scope": "tenant"});
    a.delete("/api/v1/permissions", &t.admin_token, tenant_read)
        .await
        .ok(204);
    let (_company, other_site) = a.second_site(&t).await;
    let manager = a
        .create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await;
    let here = a.create_contact(&t.admin_token).await;
    let path = format!("/api/v1/contacts/{here}");
    // Both nodes have resolved (and may keep) the manager's principal.
    for node in [&a, &b] {
        node.poll_get(&path, &manager.token, 200).await.ok(200);
    }

    let user = format!("/api/v1/users/{}", manager.id);
    a.patch(
        &user,
        &t.admin_token,
        json!({"establishment_id": other_site}),
    )
    .await
    .ok(200);
    a.get(&path, &manager.token).await.problem(404, "not_found");
    sees(&b, &path, &manager.token, 404, "not_found").await;

    a.patch(&user, &t.admin_token, json!({"active": false}))
        .await
        .ok(200);
    a.get("/api/v1/me", &manager.token)
        .await
        .problem(401, "unauthorized");
    sees(&b, "/api/v1/me", &manager.token, 401, "unauthorized").await;
}

/// A credential is resolved in one statement on its first use, and not at all afterwards:
/// the principal and the tenant facts are kept in process.
#[tokio::test]
async fn a_caller_costs_one_statement_once() {
    let (a, _b, t) = two_nodes().await;
    let path = "/api/v1/lead-sources";
    let steady = a.statements_per_get(path, &t.admin_token).await;
    // A fresh session of the same admin: the first GET resolves it. The fewest over three
    // sessions, since a background task can add a statement to one of them.
    let mut first = u64::MAX;
    for _ in 0..3 {
        let token = a.login(&t.admin_email, &t.admin_password).await;
        let before = a.statements();
        a.get(path, &token).await.ok(200);
        first = first.min(a.statements() - before);
    }
    assert_eq!(
        first,
        steady + 1,
        "steady state {steady}, first use {first}"
    );
}
