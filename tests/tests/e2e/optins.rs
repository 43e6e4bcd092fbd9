//! Marketing opt-ins: append-only consent events per channel and sender.

use chrono::{DateTime, Utc};
use forecourt_tests::{Expect, Json, Method, TestServer};
use serde_json::{Value, json};

fn consents(contact_id: &str) -> String {
    format!("/api/v1/contacts/{contact_id}/consents")
}

fn consent(channel: &str, sender: &str, granted: bool) -> Value {
    json!({"channel": channel, "sender": sender, "granted": granted, "source": "showroom form"})
}

fn at(v: &Value) -> DateTime<Utc> {
    v.str("at")
        .parse()
        .unwrap_or_else(|e| panic!("bad `at` in {v}: {e}"))
}

#[tokio::test]
async fn optins_consent_is_recorded_with_the_server_actor_and_time() {
    let s = TestServer::start().await;
    // Opt-ins are part of the Go licence.
    let t = s.tenant("go").await;
    let c = s.create_contact(&t.admin_token).await;
    let before = Utc::now();
    let mut body = consent("email", "  Opel ", true);
    body["proof"] = json!("signed form #42");
    let ev = s.post(&consents(&c), &t.admin_token, body).await.ok(201);
    let after = Utc::now();
    assert!(ev["id"].is_string(), "{ev}");
    assert_eq!(ev["contact_id"], c.as_str());
    assert_eq!(ev["channel"], "email");
    assert_eq!(ev["sender"], "Opel", "the sender is trimmed");
    assert_eq!(ev["granted"], true);
    assert_eq!(ev["source"], "showroom form");
    assert_eq!(ev["proof"], "signed form #42");
    assert_eq!(ev["actor_user_id"], t.admin_user_id.as_str());
    let when = at(&ev);
    assert!(
        before - chrono::Duration::seconds(1) <= when && when <= after,
        "{when} not in [{before}, {after}]"
    );

    // The actor and the time are the server's: a client cannot set them.
    let mut forged = consent("email", "Opel", true);
    forged["actor_user_id"] = json!(uuid::Uuid::now_v7());
    s.post(&consents(&c), &t.admin_token, forged)
        .await
        .invalid("actor_user_id");
    let mut backdated = consent("email", "Opel", true);
    backdated["at"] = json!("2020-01-01T00:00:00Z");
    s.post(&consents(&c), &t.admin_token, backdated)
        .await
        .invalid("at");

    let got = s.get(&consents(&c), &t.admin_token).await.ok(200);
    assert_eq!(got["history"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(
        got["history"][0], ev,
        "the read shows what the write answered"
    );
}

#[tokio::test]
async fn optins_current_state_per_channel_and_sender() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    let path = consents(&c);
    let company = t.company_id.as_str();
    s.post(&path, &t.admin_token, consent("email", "Opel", true))
        .await
        .ok(201);
    s.post(&path, &t.admin_token, consent("sms", company, true))
        .await
        .ok(201);
    s.post(&path, &t.admin_token, consent("email", company, true))
        .await
        .ok(201);
    let withdrawal = s
        .post(&path, &t.admin_token, consent("email", "Opel", false))
        .await
        .ok(201);
    assert_eq!(withdrawal["granted"], false);

    let got = s.get(&path, &t.admin_token).await.ok(200);
    let mut current: Vec<(String, String, bool)> = got["current"]
        .as_array()
        .unwrap_or_else(|| panic!("no current in {got}"))
        .iter()
        .map(|e| {
            (
                e.str("channel"),
                e.str("sender"),
                e["granted"].as_bool().unwrap(),
            )
        })
        .collect();
    current.sort();
    let mut expected: Vec<(String, String, bool)> = vec![
        ("email".into(), "Opel".into(), false),
        ("email".into(), company.into(), true),
        ("sms".into(), company.into(), true),
    ];
    expected.sort();
    assert_eq!(current, expected, "{got}");
    let opel_email = got["current"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["channel"] == "email" && e["sender"] == "Opel")
        .unwrap()
        .clone();
    assert_eq!(opel_email["at"], withdrawal["at"]);
    assert_eq!(opel_email["source"], "showroom form");

    // The history keeps every event, newest first: the grant is still there.
    let history = got["history"].as_array().unwrap();
    assert_eq!(history.len(), 4, "{got}");
    assert_eq!(history[0]["id"], withdrawal["id"]);
    assert!(
        history.windows(2).all(|w| at(&w[0]) >= at(&w[1])),
        "not newest first: {got}"
    );
    assert!(
        history
            .iter()
            .any(|e| e["channel"] == "email" && e["sender"] == "Opel" && e["granted"] == true),
        "{got}"
    );
}

#[tokio::test]
async fn optins_history_is_append_only() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    let path = consents(&c);
    let ev = s
        .post(&path, &t.admin_token, consent("post", "Opel", true))
        .await
        .ok(201);
    for (method, body) in [
        (Method::PUT, consent("post", "Opel", false)),
        (Method::PATCH, json!({"granted": false})),
        (Method::DELETE, Value::Null),
    ] {
        s.call(method, &path, &t.admin_token, body)
            .await
            .problem(405, "method_not_allowed");
    }
    // No route addresses one event either.
    let one = format!("{path}/{}", ev.str("id"));
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let (status, _) = s
            .call(method, &one, &t.admin_token, json!({"granted": false}))
            .await;
        assert!(status == 404 || status == 405, "{status}");
    }
    let got = s.get(&path, &t.admin_token).await.ok(200);
    assert_eq!(got["history"], json!([ev]));
}

#[tokio::test]
async fn optins_invalid_input_names_the_field() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let other = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    let path = consents(&c);
    let post = |body: Value| s.post(&path, &t.admin_token, body);

    post(consent("fax", "Opel", true)).await.invalid("channel");
    post(consent("email", "   ", true)).await.invalid("sender");
    post(consent("email", &"x".repeat(101), true))
        .await
        .invalid("sender");
    // A company id must be one of the tenant's companies.
    post(consent("email", &other.company_id, true))
        .await
        .invalid("sender");
    post(consent("email", &uuid::Uuid::now_v7().to_string(), true))
        .await
        .invalid("sender");
    let mut blank_source = consent("email", "Opel", true);
    blank_source["source"] = json!(" ");
    post(blank_source).await.invalid("source");
    let mut long_proof = consent("email", "Opel", true);
    long_proof["proof"] = json!("p".repeat(2001));
    post(long_proof).await.invalid("proof");
    post(json!({"channel": "email", "sender": "Opel", "source": "web"}))
        .await
        .invalid("granted");
    let mut tenant_id = consent("email", "Opel", true);
    tenant_id["tenant_id"] = json!(other.tenant_id);
    post(tenant_id).await.invalid("tenant_id");

    let got = s.get(&path, &t.admin_token).await.ok(200);
    assert_eq!(got["history"], json!([]), "nothing was recorded: {got}");
    assert_eq!(got["current"], json!([]));
}

#[tokio::test]
async fn optins_another_tenants_contact_is_not_found() {
    let s = TestServer::start().await;
    let a = s.tenant("expert").await;
    let b = s.tenant("expert").await;
    let c = s.create_contact(&a.admin_token).await;
    s.post(
        &consents(&c),
        &a.admin_token,
        consent("email", "Opel", true),
    )
    .await
    .ok(201);
    s.get(&consents(&c), &b.admin_token)
        .await
        .problem(404, "not_found");
    s.post(
        &consents(&c),
        &b.admin_token,
        consent("email", &b.company_id, false),
    )
    .await
    .problem(404, "not_found");
    let unknown = consents(&uuid::Uuid::now_v7().to_string());
    s.get(&unknown, &a.admin_token)
        .await
        .problem(404, "not_found");
    // Nothing leaked into, or was written to, the contact.
    let got = s.get(&consents(&c), &a.admin_token).await.ok(200);
    assert_eq!(got["history"].as_array().unwrap().len(), 1, "{got}");
}

#[tokio::test]
async fn optins_permissions_follow_the_contact_scope() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let est = Some(t.establishment_id.as_str());
    let seller = s.create_user(&t.admin_token, &["salesperson"], est).await;
    let colleague = s.create_user(&t.admin_token, &["salesperson"], est).await;
    let desk = s.create_user(&t.admin_token, &["receptionist"], est).await;
    let mine = s.create_contact(&seller.token).await;

    // A salesperson records consents of their own contacts...
    s.post(
        &consents(&mine),
        &seller.token,
        consent("email", "Opel", true),
    )
    .await
    .ok(201);
    let own = s.get(&consents(&mine), &seller.token).await.ok(200);
    assert_eq!(own["history"].as_array().unwrap().len(), 1, "{own}");
    // ...not of a colleague's: out of reach is not found.
    s.post(
        &consents(&mine),
        &colleague.token,
        consent("email", "Opel", false),
    )
    .await
    .problem(404, "not_found");
    s.get(&consents(&mine), &colleague.token)
        .await
        .problem(404, "not_found");
    // The receptionist reads every contact's consents but records none.
    let got = s.get(&consents(&mine), &desk.token).await.ok(200);
    assert_eq!(got["current"][0]["granted"], true, "{got}");
    s.post(
        &consents(&mine),
        &desk.token,
        consent("email", "Opel", false),
    )
    .await
    .problem(403, "forbidden");
}

#[tokio::test]
async fn optins_merge_keeps_every_event_on_the_survivor() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let survivor = s.create_contact(&t.admin_token).await;
    let dup = s.create_contact(&t.admin_token).await;
    s.post(
        &consents(&survivor),
        &t.admin_token,
        consent("email", "Opel", true),
    )
    .await
    .ok(201);
    let newer = s
        .post(
            &consents(&dup),
            &t.admin_token,
            consent("email", "Opel", false),
        )
        .await
        .ok(201);
    s.post(
        &consents(&dup),
        &t.admin_token,
        consent("sms", "Opel", true),
    )
    .await
    .ok(201);
    s.post(
        &format!("/api/v1/contacts/{survivor}/merge"),
        &t.admin_token,
        json!({"duplicates": [dup]}),
    )
    .await
    .ok(200);
    let got = s.get(&consents(&survivor), &t.admin_token).await.ok(200);
    let history = got["history"].as_array().unwrap();
    assert_eq!(history.len(), 3, "{got}");
    assert!(
        history.iter().all(|e| e["contact_id"] == survivor.as_str()),
        "{got}"
    );
    let email = got["current"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["channel"] == "email")
        .unwrap()
        .clone();
    assert_eq!(email["granted"], false, "the newer withdrawal wins: {got}");
    assert_eq!(email["at"], newer["at"]);
    s.get(&consents(&dup), &t.admin_token)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn optins_can_be_switched_off_by_the_admin() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let c = s.create_contact(&t.admin_token).await;
    let toggle = |enabled: bool| json!({"module": "optins", "enabled": enabled});
    s.patch("/api/v1/settings/modules", &t.admin_token, toggle(false))
        .await
        .ok(200);
    let p = s
        .get(&consents(&c), &t.admin_token)
        .await
        .problem(403, "module_disabled");
    assert_eq!(p["module"], "optins");
    s.post(
        &consents(&c),
        &t.admin_token,
        consent("email", "Opel", true),
    )
    .await
    .problem(403, "module_disabled");
    // The contacts themselves stay reachable.
    s.get(&format!("/api/v1/contacts/{c}"), &t.admin_token)
        .await
        .ok(200);
    s.patch("/api/v1/settings/modules", &t.admin_token, toggle(true))
        .await
        .ok(200);
    s.get(&consents(&c), &t.admin_token).await.ok(200);
}
