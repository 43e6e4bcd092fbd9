//! The Opel-group category of contacts: segment and fleet code.

use forecourt_tests::{Expect, Json, TestServer};
use serde_json::{Value, json};

fn opel(contact_id: &str) -> String {
    format!("/api/v1/contacts/{contact_id}/opel")
}

fn category(segment: &str, fleet_code: &str) -> Value {
    json!({"segment": segment, "fleet_code": fleet_code})
}

/// A fleet code nobody else uses: letters and digits, 10 characters.
fn fleet_code() -> String {
    let tail = uuid::Uuid::now_v7().simple().to_string();
    format!("F1{}", tail[24..].to_ascii_uppercase())
}

fn search(q: &str) -> String {
    format!("/api/v1/contacts?q={q}")
}

#[tokio::test]
async fn opel_is_not_in_the_go_licence() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let c = s.create_contact(&t.admin_token).await;
    for reply in [
        s.get(&opel(&c), &t.admin_token).await,
        s.put(&opel(&c), &t.admin_token, category("fleet", "AB12345"))
            .await,
        s.delete(&opel(&c), &t.admin_token, Value::Null).await,
    ] {
        let p = reply.problem(403, "module_not_licensed");
        assert_eq!(p["module"], "opel");
        assert_eq!(p["tiers"], json!(["expert"]));
    }
    let got = s
        .get(&format!("/api/v1/contacts/{c}"), &t.admin_token)
        .await
        .ok(200);
    assert!(got["extensions"].get("opel").is_none(), "{got}");
}

#[tokio::test]
async fn opel_category_roundtrip() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    s.get(&opel(&c), &t.admin_token)
        .await
        .problem(404, "not_found");

    let set = s
        .put(&opel(&c), &t.admin_token, category("fleet", "  ab12345 "))
        .await
        .ok(200);
    assert_eq!(set["contact_id"], c.as_str());
    assert_eq!(set["segment"], "fleet");
    assert_eq!(set["fleet_code"], "AB12345", "trimmed and upper-cased");
    assert!(set["updated_at"].is_string(), "{set}");
    assert_eq!(s.get(&opel(&c), &t.admin_token).await.ok(200), set);

    let changed = s
        .put(
            &opel(&c),
            &t.admin_token,
            category("dealer_demo", "DEMO2026"),
        )
        .await
        .ok(200);
    assert_eq!(
        (changed["segment"].clone(), changed["fleet_code"].clone()),
        (json!("dealer_demo"), json!("DEMO2026"))
    );
    assert_eq!(s.get(&opel(&c), &t.admin_token).await.ok(200), changed);

    s.delete(&opel(&c), &t.admin_token, Value::Null)
        .await
        .ok(204);
    s.get(&opel(&c), &t.admin_token)
        .await
        .problem(404, "not_found");
    s.delete(&opel(&c), &t.admin_token, Value::Null)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn opel_bad_input_names_the_field() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    for bad in [
        "AB12",
        "AB123456789",
        "ABCDEFG",
        "AB-1234",
        "AB 1234",
        "ÉT12345",
        "",
    ] {
        s.put(&opel(&c), &t.admin_token, category("fleet", bad))
            .await
            .invalid("fleet_code");
    }
    s.put(&opel(&c), &t.admin_token, category("retail", "AB12345"))
        .await
        .invalid("segment");
    s.put(&opel(&c), &t.admin_token, json!({"segment": "fleet"}))
        .await
        .invalid("fleet_code");
    let mut extra = category("fleet", "AB12345");
    extra["updated_at"] = json!("2020-01-01T00:00:00Z");
    s.put(&opel(&c), &t.admin_token, extra)
        .await
        .invalid("updated_at");
    s.get(&opel(&c), &t.admin_token)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn opel_extension_shows_on_the_contact_while_the_module_is_on() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    let path = format!("/api/v1/contacts/{c}");
    let got = s.get(&path, &t.admin_token).await.ok(200);
    assert!(
        got["extensions"].get("opel").is_none(),
        "no category yet: {got}"
    );

    s.put(&opel(&c), &t.admin_token, category("lcv", "VAN1234"))
        .await
        .ok(200);
    let got = s.get(&path, &t.admin_token).await.ok(200);
    assert_eq!(
        got["extensions"]["opel"],
        json!({"segment": "lcv", "fleet_code": "VAN1234"}),
        "{got}"
    );

    s.patch(
        "/api/v1/settings/modules",
        &t.admin_token,
        json!({"module": "opel", "enabled": false}),
    )
    .await
    .ok(200);
    let got = s.get(&path, &t.admin_token).await.ok(200);
    assert!(
        got["extensions"].get("opel").is_none(),
        "opel is off: {got}"
    );
    let p = s
        .get(&opel(&c), &t.admin_token)
        .await
        .problem(403, "module_disabled");
    assert_eq!(p["module"], "opel");

    s.patch(
        "/api/v1/settings/modules",
        &t.admin_token,
        json!({"module": "opel", "enabled": true}),
    )
    .await
    .ok(200);
    let got = s.get(&path, &t.admin_token).await.ok(200);
    assert_eq!(got["extensions"]["opel"]["fleet_code"], "VAN1234", "{got}");
}

#[tokio::test]
async fn opel_fleet_code_finds_the_contact() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    let _other = s.create_contact(&t.admin_token).await;
    let code = fleet_code();
    assert!(
        s.get(&search(&code), &t.admin_token)
            .await
            .ok(200)
            .ids()
            .is_empty(),
        "nothing has the code yet"
    );

    s.put(
        &opel(&c),
        &t.admin_token,
        category("fleet", &code.to_lowercase()),
    )
    .await
    .ok(200);
    assert_eq!(
        s.get(&search(&code), &t.admin_token).await.ok(200).ids(),
        vec![c.clone()]
    );
    assert_eq!(
        s.get(&search(&code.to_lowercase()), &t.admin_token)
            .await
            .ok(200)
            .ids(),
        vec![c.clone()],
        "case-insensitive"
    );

    // A new code replaces the old one in the index.
    let next = fleet_code();
    s.put(&opel(&c), &t.admin_token, category("fleet", &next))
        .await
        .ok(200);
    assert!(
        s.get(&search(&code), &t.admin_token)
            .await
            .ok(200)
            .ids()
            .is_empty()
    );
    assert_eq!(
        s.get(&search(&next), &t.admin_token).await.ok(200).ids(),
        vec![c.clone()]
    );

    // Removed: no longer found by it.
    s.delete(&opel(&c), &t.admin_token, Value::Null)
        .await
        .ok(204);
    assert!(
        s.get(&search(&next), &t.admin_token)
            .await
            .ok(200)
            .ids()
            .is_empty()
    );

    // Another tenant never finds it.
    s.put(&opel(&c), &t.admin_token, category("fleet", &next))
        .await
        .ok(200);
    let b = s.tenant("expert").await;
    assert!(
        s.get(&search(&next), &b.admin_token)
            .await
            .ok(200)
            .ids()
            .is_empty()
    );
}

#[tokio::test]
async fn opel_another_tenants_contact_is_not_found() {
    let s = TestServer::start().await;
    let a = s.tenant("expert").await;
    let b = s.tenant("expert").await;
    let c = s.create_contact(&a.admin_token).await;
    s.put(
        &opel(&c),
        &a.admin_token,
        category("government", "GOV12345"),
    )
    .await
    .ok(200);
    s.get(&opel(&c), &b.admin_token)
        .await
        .problem(404, "not_found");
    s.put(&opel(&c), &b.admin_token, category("fleet", "HACK1234"))
        .await
        .problem(404, "not_found");
    s.delete(&opel(&c), &b.admin_token, Value::Null)
        .await
        .problem(404, "not_found");
    let got = s.get(&opel(&c), &a.admin_token).await.ok(200);
    assert_eq!(
        (got["segment"].clone(), got["fleet_code"].clone()),
        (json!("government"), json!("GOV12345"))
    );
}

#[tokio::test]
async fn opel_permissions_follow_the_contact_grants() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let est = Some(t.establishment_id.as_str());
    let seller = s.create_user(&t.admin_token, &["salesperson"], est).await;
    let colleague = s.create_user(&t.admin_token, &["salesperson"], est).await;
    let mine = s.create_contact(&seller.token).await;
    s.put(&opel(&mine), &seller.token, category("private", "PRV12345"))
        .await
        .ok(200);
    // A colleague reads every contact (contacts/read tenant) but writes only their own.
    s.get(&opel(&mine), &colleague.token).await.ok(200);
    s.put(
        &opel(&mine),
        &colleague.token,
        category("fleet", "COL12345"),
    )
    .await
    .problem(404, "not_found");
    s.delete(&opel(&mine), &colleague.token, Value::Null)
        .await
        .problem(404, "not_found");
    assert_eq!(
        s.get(&opel(&mine), &seller.token).await.ok(200)["fleet_code"],
        "PRV12345"
    );
}

#[tokio::test]
async fn opel_merge_gives_the_survivor_a_category() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let survivor = s.create_contact(&t.admin_token).await;
    let dup = s.create_contact(&t.admin_token).await;
    let code = fleet_code();
    s.put(&opel(&dup), &t.admin_token, category("rental", &code))
        .await
        .ok(200);
    s.post(
        &format!("/api/v1/contacts/{survivor}/merge"),
        &t.admin_token,
        json!({"duplicates": [dup]}),
    )
    .await
    .ok(200);
    let got = s.get(&opel(&survivor), &t.admin_token).await.ok(200);
    assert_eq!(
        (got["segment"].clone(), got.str("fleet_code")),
        (json!("rental"), code.clone())
    );
    assert_eq!(
        s.get(&search(&code), &t.admin_token).await.ok(200).ids(),
        vec![survivor.clone()]
    );

    // A survivor with its own category keeps it.
    let other = s.create_contact(&t.admin_token).await;
    s.put(&opel(&other), &t.admin_token, category("fleet", "LOSE1234"))
        .await
        .ok(200);
    s.post(
        &format!("/api/v1/contacts/{survivor}/merge"),
        &t.admin_token,
        json!({"duplicates": [other]}),
    )
    .await
    .ok(200);
    assert_eq!(
        s.get(&opel(&survivor), &t.admin_token)
            .await
            .ok(200)
            .str("fleet_code"),
        code
    );
    assert!(
        s.get(&search("LOSE1234"), &t.admin_token)
            .await
            .ok(200)
            .ids()
            .is_empty()
    );
}
