//! Licence tiers and module toggles.

use forecourt_tests::{Expect, TestServer};
use serde_json::{Value, json};

fn sources_item(modules: &Value) -> Value {
    let items = modules["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {modules}"));
    let found = items.iter().find(|m| m["module"] == "sources");
    found
        .cloned()
        .unwrap_or_else(|| panic!("no sources module in {modules}"))
}

fn toggle(enabled: bool) -> Value {
    json!({"module": "sources", "enabled": enabled})
}

#[tokio::test]
async fn go_tenant_has_no_sources_and_cannot_enable_them() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let denied = s
        .get("/api/v1/lead-sources", &t.admin_token)
        .await
        .problem(403, "module_not_licensed");
    assert_eq!(denied["module"], "sources");
    assert_eq!(denied["tiers"], json!(["expert"]));

    let item = sources_item(
        &s.get("/api/v1/settings/modules", &t.admin_token)
            .await
            .ok(200),
    );
    assert_eq!(item["included"], false);
    assert_eq!(item["enabled"], false);
    assert_eq!(item["tiers"], json!(["expert"]));
    assert!(item["name"].is_string(), "{item}");

    s.patch("/api/v1/settings/modules", &t.admin_token, toggle(true))
        .await
        .problem(403, "module_not_licensed");
    s.get("/api/v1/lead-sources", &t.admin_token)
        .await
        .problem(403, "module_not_licensed");
}

#[tokio::test]
async fn expert_admin_switches_sources_off_and_on() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let item = sources_item(
        &s.get("/api/v1/settings/modules", &t.admin_token)
            .await
            .ok(200),
    );
    assert_eq!(
        (item["included"].clone(), item["enabled"].clone()),
        (json!(true), json!(true))
    );

    let off = s
        .patch("/api/v1/settings/modules", &t.admin_token, toggle(false))
        .await
        .ok(200);
    assert_eq!(
        (off["module"].clone(), off["enabled"].clone()),
        (json!("sources"), json!(false))
    );
    let denied = s
        .get("/api/v1/lead-sources", &t.admin_token)
        .await
        .problem(403, "module_disabled");
    assert_eq!(denied["module"], "sources");
    let me = s.get("/api/v1/me", &t.admin_token).await.ok(200);
    assert!(
        !me["modules"]
            .as_array()
            .unwrap()
            .contains(&json!("sources")),
        "{me}"
    );

    s.patch("/api/v1/settings/modules", &t.admin_token, toggle(true))
        .await
        .ok(200);
    s.get("/api/v1/lead-sources", &t.admin_token).await.ok(200);
    let me = s.get("/api/v1/me", &t.admin_token).await.ok(200);
    assert!(
        me["modules"]
            .as_array()
            .unwrap()
            .contains(&json!("sources")),
        "{me}"
    );
}

#[tokio::test]
async fn toggling_needs_a_known_module_and_an_admin() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let unknown = json!({"module": "teleportation", "enabled": true});
    s.patch("/api/v1/settings/modules", &t.admin_token, unknown)
        .await
        .problem(404, "not_found");
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let (status, _) = s
        .patch("/api/v1/settings/modules", &sp.token, toggle(false))
        .await;
    assert_eq!(status, 403, "a salesperson switched a module off");
    s.get("/api/v1/lead-sources", &t.admin_token).await.ok(200);
}

#[tokio::test]
async fn licence_change_applies_to_the_tenant() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let t = s.onboard(&op, "go").await;
    let path = format!("/api/v1/platform/tenants/{}", t.tenant_id);

    let upgraded = s
        .patch(&path, &op, json!({"licence": "expert"}))
        .await
        .ok(200);
    assert_eq!(upgraded["licence"], "expert");
    let list = s
        .poll_get("/api/v1/lead-sources", &t.admin_token, 200)
        .await;
    list.ok(200);

    s.patch(&path, &op, json!({"licence": "go"})).await.ok(200);
    let denied = s
        .poll_get("/api/v1/lead-sources", &t.admin_token, 403)
        .await;
    denied.problem(403, "module_not_licensed");
}
