//! Tenant administration: users, companies, establishments, lead sources, activity log.

use forecourt_tests::{Expect, Json, PASSWORD, TestServer, invitation_token, unique, unique_email};
use serde_json::{Value, json};

#[tokio::test]
async fn admin_creates_patches_and_deactivates_a_user() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let email = unique_email("seller");
    let body = json!({"email": email, "name": "Sam Seller", "password": PASSWORD, "roles": ["salesperson"], "establishment_id": t.establishment_id});
    let user = s.post("/api/v1/users", &t.admin_token, body).await.ok(201);
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["name"], "Sam Seller");
    assert_eq!(user["establishment_id"], t.establishment_id.as_str());
    assert_eq!(user["roles"], json!(["salesperson"]));
    assert_eq!(user["active"], true);
    assert!(
        user["created_at"].is_string() && user.get("password").is_none(),
        "{user}"
    );
    let path = format!("/api/v1/users/{}", user.str("id"));
    let fetched = s.get(&path, &t.admin_token).await.ok(200);
    assert_eq!(
        (&fetched["id"], &fetched["email"], &fetched["roles"]),
        (&user["id"], &user["email"], &user["roles"])
    );
    let token = s.login(&email, PASSWORD).await;
    assert_eq!(
        s.get("/api/v1/me", &token).await.ok(200)["roles"],
        json!(["salesperson"])
    );

    let renamed = s
        .patch(&path, &t.admin_token, json!({"name": "Samantha"}))
        .await
        .ok(200);
    assert_eq!(
        (renamed["name"].clone(), renamed["email"].clone()),
        (json!("Samantha"), json!(email))
    );
    let inactive = s
        .patch(&path, &t.admin_token, json!({"active": false}))
        .await
        .ok(200);
    assert_eq!(inactive["active"], false);
    let (status, _) = s
        .post(
            "/api/v1/auth/login",
            "",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_ne!(status, 200, "a deactivated user logged in");
    let (status, _) = s.get("/api/v1/me", &token).await;
    assert_eq!(status, 401, "a deactivated user's token still works");
}

#[tokio::test]
async fn a_user_created_without_password_is_invited() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let email = unique_email("invitee");
    let body = json!({"email": email, "name": "Ivy Invitee", "roles": ["receptionist"]});
    s.post("/api/v1/users", &t.admin_token, body).await.ok(201);
    let mail = s.wait_for_mail(&email).await;
    let token = invitation_token(&mail).unwrap_or_else(|| panic!("no token in {mail}"));
    let accept = json!({"token": token, "password": "invitee-password"});
    s.post("/api/v1/auth/accept-invitation", "", accept)
        .await
        .ok(204);
    s.login(&email, "invitee-password").await;
}

#[tokio::test]
async fn user_validation() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let user = |email: &str, roles: Value| json!({"email": email, "name": "X", "password": PASSWORD, "roles": roles});
    let bad_role = s
        .post(
            "/api/v1/users",
            &t.admin_token,
            user(&unique_email("u"), json!(["emperor"])),
        )
        .await;
    bad_role.invalid("roles");
    let bad_email = s
        .post(
            "/api/v1/users",
            &t.admin_token,
            user("not-an-email", json!(["salesperson"])),
        )
        .await;
    bad_email.invalid("email");
    let (status, body) = s
        .post(
            "/api/v1/users",
            &t.admin_token,
            user(&t.admin_email, json!(["salesperson"])),
        )
        .await;
    assert_eq!(status, 409, "duplicate email: {body}");
}

#[tokio::test]
async fn companies_and_establishments() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let company = s
        .post(
            "/api/v1/companies",
            &t.admin_token,
            json!({"name": "Garage Nord SA"}),
        )
        .await
        .ok(201);
    assert_eq!(company["name"], "Garage Nord SA");
    let cpath = format!("/api/v1/companies/{}", company.str("id"));
    let patched = s
        .patch(&cpath, &t.admin_token, json!({"name": "Garage Nord SRL"}))
        .await
        .ok(200);
    assert_eq!(patched["name"], "Garage Nord SRL");
    assert_eq!(
        s.get(&cpath, &t.admin_token).await.ok(200)["name"],
        "Garage Nord SRL"
    );
    let companies = s
        .get("/api/v1/companies", &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert!(
        companies.contains(&company.str("id")) && companies.contains(&t.company_id),
        "{companies:?}"
    );

    let site = json!({"name": "Namur", "company_id": company.str("id")});
    let est = s
        .post("/api/v1/establishments", &t.admin_token, site)
        .await
        .ok(201);
    assert_eq!(
        (est["name"].clone(), est["company_id"].clone()),
        (json!("Namur"), company["id"].clone())
    );
    let epath = format!("/api/v1/establishments/{}", est.str("id"));
    s.patch(&epath, &t.admin_token, json!({"name": "Namur Sud"}))
        .await
        .ok(200);
    assert_eq!(
        s.get(&epath, &t.admin_token).await.ok(200)["name"],
        "Namur Sud"
    );
    let sites = s
        .get("/api/v1/establishments", &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert!(
        sites.contains(&est.str("id")) && sites.contains(&t.establishment_id),
        "{sites:?}"
    );
}

#[tokio::test]
async fn lead_source_lifecycle() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let name = unique("Autoscout");
    let created = s
        .post(
            "/api/v1/lead-sources",
            &t.admin_token,
            json!({"name": name}),
        )
        .await
        .ok(201);
    assert_eq!(
        (created["name"].clone(), created["active"].clone()),
        (json!(name), json!(true))
    );
    assert!(
        created["created_at"].is_string() && created["updated_at"].is_string(),
        "{created}"
    );
    let path = format!("/api/v1/lead-sources/{}", created.str("id"));
    assert_eq!(
        s.get(&path, &t.admin_token).await.ok(200)["name"],
        name.as_str()
    );

    let dup = s
        .post(
            "/api/v1/lead-sources",
            &t.admin_token,
            json!({"name": name}),
        )
        .await;
    assert_eq!(dup.0, 409, "duplicate name: {}", dup.1);
    let empty = s
        .post("/api/v1/lead-sources", &t.admin_token, json!({"name": ""}))
        .await;
    empty.invalid("name");

    let off = s
        .patch(&path, &t.admin_token, json!({"active": false}))
        .await
        .ok(200);
    assert_eq!(
        (off["active"].clone(), off["name"].clone()),
        (json!(false), json!(name))
    );
    s.delete(&path, &t.admin_token, Value::Null).await.ok(204);
    s.get(&path, &t.admin_token).await.problem(404, "not_found");
    let ids = s
        .get("/api/v1/lead-sources", &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert!(!ids.contains(&created.str("id")));
}

#[tokio::test]
async fn activity_log_records_who_changed_what() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let source = s.create_source(&t.admin_token).await;
    let id = source.str("id");
    s.patch(
        &format!("/api/v1/lead-sources/{id}"),
        &t.admin_token,
        json!({"name": "Renamed source"}),
    )
    .await
    .ok(200);

    let path = format!("/api/v1/activity?entity_type=lead_source&entity_id={id}");
    let items = s.get(&path, &t.admin_token).await.ok(200).items();
    let find = |action: &str| items.iter().find(|i| i["action"] == action).cloned();
    let created = find("created").unwrap_or_else(|| panic!("no created entry: {items:?}"));
    let updated = find("updated").unwrap_or_else(|| panic!("no updated entry: {items:?}"));
    for entry in [&created, &updated] {
        assert_eq!(entry["entity_type"], "lead_source");
        assert_eq!(entry["entity_id"], id.as_str());
        assert_eq!(entry["actor_user_id"], t.admin_user_id.as_str());
        assert!(
            entry["at"].is_string() && entry["changes"].is_object(),
            "{entry}"
        );
    }
    assert!(
        updated["changes"].get("name").is_some(),
        "the rename is not in changes: {updated}"
    );
    assert!(
        updated["changes"].get("active").is_none(),
        "an unchanged field is listed: {updated}"
    );
}

#[tokio::test]
async fn lists_page_with_cursors_without_gaps_or_repeats() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    for _ in 0..4 {
        s.create_source(&t.admin_token).await;
    }
    let all = s
        .get("/api/v1/lead-sources?limit=200", &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert_eq!(all.len(), 7, "3 seeded defaults and 4 new sources");

    let mut seen = Vec::new();
    let mut path = "/api/v1/lead-sources?limit=3".to_string();
    loop {
        let page = s.get(&path, &t.admin_token).await.ok(200);
        assert!(page.ids().len() <= 3);
        seen.extend(page.ids());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/lead-sources?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, all, "pages in order, each source exactly once");

    s.get("/api/v1/lead-sources?cursor=not-a-cursor", &t.admin_token)
        .await
        .invalid("cursor");
}
