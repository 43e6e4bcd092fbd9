//! Roles, grants, scopes and the admin's permission management.

use forecourt_tests::{Expect, Json, TestServer, unique, unique_email};
use serde_json::{Value, json};

fn grant(subject: &str, object: &str, action: &str, scope: &str) -> Value {
    json!({"subject": subject, "object": object, "action": action, "scope": scope})
}

fn new_source() -> Value {
    json!({"name": unique("Source")})
}

#[tokio::test]
async fn salesperson_reads_sources_but_cannot_write_them() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let list = s.get("/api/v1/lead-sources", &sp.token).await.ok(200);
    assert!(
        !list.items().is_empty(),
        "an Expert tenant starts with default sources: {list}"
    );
    s.post("/api/v1/lead-sources", &sp.token, new_source())
        .await
        .problem(403, "forbidden");
    let id = list.ids()[0].clone();
    let path = format!("/api/v1/lead-sources/{id}");
    s.patch(&path, &sp.token, json!({"name": "Mine now"}))
        .await
        .problem(403, "forbidden");
    s.delete(&path, &sp.token, Value::Null)
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn grant_then_revoke_applies_at_once() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let g = grant(
        &format!("user:{}", sp.id),
        "settings.sources",
        "write",
        "tenant",
    );

    s.post("/api/v1/lead-sources", &sp.token, new_source())
        .await
        .problem(403, "forbidden");
    let created = s
        .post("/api/v1/permissions", &t.admin_token, g.clone())
        .await
        .ok(201);
    for key in ["subject", "object", "action", "scope"] {
        assert_eq!(created[key], g[key], "{created}");
    }
    let listed = s
        .get(
            &format!("/api/v1/permissions?subject=user:{}", sp.id),
            &t.admin_token,
        )
        .await
        .ok(200);
    assert!(
        listed
            .items()
            .iter()
            .any(|i| i["object"] == "settings.sources" && i["action"] == "write"),
        "{listed}"
    );

    s.post("/api/v1/lead-sources", &sp.token, new_source())
        .await
        .ok(201);
    s.delete("/api/v1/permissions", &t.admin_token, g.clone())
        .await
        .ok(204);
    s.post("/api/v1/lead-sources", &sp.token, new_source())
        .await
        .problem(403, "forbidden");
    s.delete("/api/v1/permissions", &t.admin_token, g)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn salesperson_sees_only_themself_among_users() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    s.create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let seen = s.get("/api/v1/users", &sp.token).await.ok(200).ids();
    assert_eq!(seen, vec![sp.id.clone()]);
    let all = s.get("/api/v1/users", &t.admin_token).await.ok(200).ids();
    assert!(
        all.len() >= 3 && all.contains(&sp.id) && all.contains(&t.admin_user_id),
        "{all:?}"
    );

    let body = json!({"email": unique_email("u"), "name": "Nope", "password": "long-enough-pw", "roles": ["admin"]});
    s.post("/api/v1/users", &sp.token, body)
        .await
        .problem(403, "forbidden");
    s.put(
        &format!("/api/v1/users/{}/roles", sp.id),
        &sp.token,
        json!({"roles": ["admin"]}),
    )
    .await
    .problem(403, "forbidden");
}

#[tokio::test]
async fn roles_objects_and_role_grants_are_listed() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let roles = s.get("/api/v1/roles", &t.admin_token).await.ok(200).items();
    for name in ["admin", "manager", "salesperson", "receptionist"] {
        let role = roles.iter().find(|r| r["name"] == name);
        assert_eq!(
            role.map(|r| r["builtin"].clone()),
            Some(json!(true)),
            "role {name} in {roles:?}"
        );
    }
    let objects = s
        .get("/api/v1/permissions/objects", &t.admin_token)
        .await
        .ok(200)
        .items();
    let sources = objects.iter().find(|o| o["object"] == "settings.sources");
    assert_eq!(
        sources.map(|o| o["module"].clone()),
        Some(json!("sources")),
        "{objects:?}"
    );

    let grants = s
        .get(
            "/api/v1/permissions?subject=role:salesperson",
            &t.admin_token,
        )
        .await
        .ok(200)
        .items();
    assert!(
        grants.iter().all(|g| g["subject"] == "role:salesperson"),
        "{grants:?}"
    );
    let reads_sources = grants
        .iter()
        .any(|g| g["object"] == "settings.sources" && g["action"] == "read");
    assert!(
        reads_sources,
        "salesperson reads sources by default: {grants:?}"
    );
    assert!(
        !grants
            .iter()
            .any(|g| g["object"] == "settings.sources" && g["action"] == "write"),
        "{grants:?}"
    );
    let everything = s
        .get("/api/v1/permissions", &t.admin_token)
        .await
        .ok(200)
        .items();
    assert!(
        everything.len() > grants.len(),
        "unfiltered list is larger than one role's"
    );
}

#[tokio::test]
async fn invalid_grants_are_rejected() {
    let s = TestServer::start().await;
    let (a, b) = (s.tenant("expert").await, s.tenant("expert").await);
    let role_grant =
        |object: &str, action: &str, scope: &str| grant("role:salesperson", object, action, scope);
    let cases = [
        ("object", role_grant("spaceships", "read", "tenant")),
        ("action", role_grant("settings.sources", "fly", "tenant")),
        ("scope", role_grant("settings.sources", "read", "galaxy")),
    ];
    for (field, body) in cases {
        let reply = s.post("/api/v1/permissions", &a.admin_token, body).await;
        reply.invalid(field);
    }
    let foreign = grant(
        &format!("user:{}", b.admin_user_id),
        "settings.sources",
        "read",
        "tenant",
    );
    s.post("/api/v1/permissions", &a.admin_token, foreign)
        .await
        .problem(404, "not_found");
    let bad_role = grant("role:Not A Role!", "settings.sources", "read", "tenant");
    s.post("/api/v1/permissions", &a.admin_token, bad_role)
        .await
        .invalid("subject");
}

#[tokio::test]
async fn a_custom_role_appears_when_first_granted() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let g = grant("role:fleet-desk", "settings.sources", "write", "tenant");
    s.post("/api/v1/permissions", &t.admin_token, g)
        .await
        .ok(201);
    let roles = s.get("/api/v1/roles", &t.admin_token).await.ok(200).items();
    let custom = roles.iter().find(|r| r["name"] == "fleet-desk");
    assert_eq!(
        custom.map(|r| r["builtin"].clone()),
        Some(json!(false)),
        "{roles:?}"
    );

    let u = s.create_user(&t.admin_token, &["fleet-desk"], None).await;
    s.post("/api/v1/lead-sources", &u.token, new_source())
        .await
        .ok(201);
}

#[tokio::test]
async fn a_manager_cannot_grant_beyond_his_own_rights() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let mgr = s
        .create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await;
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let delegate = grant(
        &format!("user:{}", mgr.id),
        "permissions",
        "write",
        "tenant",
    );
    s.post("/api/v1/permissions", &t.admin_token, delegate)
        .await
        .ok(201);

    let escalate = grant(
        &format!("user:{}", sp.id),
        "settings.sources",
        "admin",
        "tenant",
    );
    let self_escalate = grant(
        &format!("user:{}", mgr.id),
        "settings.sources",
        "admin",
        "tenant",
    );
    for body in [escalate, self_escalate] {
        s.post("/api/v1/permissions", &mgr.token, body)
            .await
            .problem(403, "forbidden");
    }
    s.post("/api/v1/lead-sources", &sp.token, new_source())
        .await
        .problem(403, "forbidden");
    let sp_grants = s
        .get(
            &format!("/api/v1/permissions?subject=user:{}", sp.id),
            &t.admin_token,
        )
        .await
        .ok(200);
    assert!(sp_grants.items().is_empty(), "{sp_grants}");
}

#[tokio::test]
async fn admin_replaces_a_users_roles() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let u = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let path = format!("/api/v1/users/{}/roles", u.id);
    assert_eq!(
        s.get(&path, &t.admin_token).await.ok(200)["roles"],
        json!(["salesperson"])
    );

    s.post("/api/v1/lead-sources", &u.token, new_source())
        .await
        .problem(403, "forbidden");
    let put = s
        .put(&path, &t.admin_token, json!({"roles": ["admin"]}))
        .await
        .ok(200);
    assert_eq!(put["roles"], json!(["admin"]));
    assert_eq!(
        s.get(&path, &t.admin_token).await.ok(200)["roles"],
        json!(["admin"])
    );
    s.post("/api/v1/lead-sources", &u.token, new_source())
        .await
        .ok(201);

    let bad = s
        .put(&path, &t.admin_token, json!({"roles": ["emperor"]}))
        .await;
    bad.invalid("roles");
    assert_eq!(
        s.get(&path, &t.admin_token).await.ok(200)["roles"],
        json!(["admin"])
    );
}
