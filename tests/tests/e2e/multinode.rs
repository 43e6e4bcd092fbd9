//! Two nodes on one database: changes made on one apply on the other within seconds.

use forecourt_tests::{Expect, Method, TestServer, unique};
use serde_json::{Value, json};
use std::time::Duration;

const PROPAGATION: Duration = Duration::from_secs(3);

#[tokio::test]
async fn grant_and_revoke_reach_the_other_node() {
    let a = TestServer::start().await;
    let b = TestServer::start_sharing(&a, |_| {}).await;
    let t = a.tenant("expert").await;
    let sp = a.create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id)).await;
    b.post("/api/v1/lead-sources", &sp.token, json!({"name": unique("S")})).await.problem(403, "forbidden");

    let grant = json!({"subject": format!("user:{}", sp.id), "object": "settings.sources", "action": "write", "scope": "tenant"});
    a.post("/api/v1/permissions", &t.admin_token, grant.clone()).await.ok(201);
    let source = || json!({"name": unique("S")});
    let on_b = b.poll_until(PROPAGATION, Method::POST, "/api/v1/lead-sources", &sp.token, source, 201).await;
    on_b.ok(201);

    a.delete("/api/v1/permissions", &t.admin_token, grant).await.ok(204);
    let on_b = b.poll_until(PROPAGATION, Method::POST, "/api/v1/lead-sources", &sp.token, source, 403).await;
    on_b.problem(403, "forbidden");
}

#[tokio::test]
async fn module_toggles_logout_and_licence_changes_reach_the_other_node() {
    let a = TestServer::start().await;
    let b = TestServer::start_sharing(&a, |_| {}).await;
    let t = a.tenant("expert").await;
    let none = || Value::Null;
    b.get("/api/v1/lead-sources", &t.admin_token).await.ok(200);

    let toggle = |enabled: bool| json!({"module": "sources", "enabled": enabled});
    a.patch("/api/v1/settings/modules", &t.admin_token, toggle(false)).await.ok(200);
    let on_b = b.poll_until(PROPAGATION, Method::GET, "/api/v1/lead-sources", &t.admin_token, none, 403).await;
    on_b.problem(403, "module_disabled");
    a.patch("/api/v1/settings/modules", &t.admin_token, toggle(true)).await.ok(200);
    b.poll_until(PROPAGATION, Method::GET, "/api/v1/lead-sources", &t.admin_token, none, 200).await.ok(200);

    let op = b.operator().await;
    let path = format!("/api/v1/platform/tenants/{}", t.tenant_id);
    b.patch(&path, &op, json!({"licence": "go"})).await.ok(200);
    let on_a = a.poll_until(PROPAGATION, Method::GET, "/api/v1/lead-sources", &t.admin_token, none, 403).await;
    on_a.problem(403, "module_not_licensed");

    a.post("/api/v1/auth/logout", &t.admin_token, Value::Null).await.ok(204);
    let on_b = b.poll_until(PROPAGATION, Method::GET, "/api/v1/me", &t.admin_token, none, 401).await;
    on_b.problem(401, "unauthorized");
}
