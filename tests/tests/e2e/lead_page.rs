//! The lead page's actions: typed, validated, following the opportunity's permission and
//! tenant, and recorded in the Details tab.

use forecourt_tests::{Expect, Json, Tenant, TestServer};
use serde_json::{Value, json};

/// A contact, a stock vehicle and an opportunity of the tenant: (opportunity, vehicle, contact).
async fn opportunity(s: &TestServer, t: &Tenant) -> (String, String, String) {
    let contact = s.create_contact(&t.admin_token).await;
    let vin = format!("W0L0XCF08{:08}", rand_digits());
    let vehicle = s
        .post(
            "/api/v1/vehicles",
            &t.admin_token,
            json!({"vin": vin, "make": "Opel", "model": "Corsa", "year": 2025, "price": 2199000}),
        )
        .await
        .ok(201)
        .str("id");
    let created = s
        .post(
            "/api/v1/opportunities",
            &t.admin_token,
            json!({"contacts": [{"contact_id": contact}], "vehicle_ids": [vehicle]}),
        )
        .await
        .ok(201);
    (created.str("id"), vehicle, contact)
}

fn rand_digits() -> u64 {
    uuid::Uuid::now_v7().as_u128() as u64 % 100_000_000
}

fn actions(vehicle: &str, contact: &str, assignee: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "trade-ins",
            json!({"make": "Opel", "model": "Astra", "year": 2015, "mileage_km": 120000, "valuation": 450000}),
        ),
        (
            "offers",
            json!({"vehicle_id": vehicle, "price": 2199000, "discount": 100000, "valid_until": "2099-12-31"}),
        ),
        (
            "test-drives",
            json!({"vehicle_id": vehicle, "scheduled_at": "2099-01-10T10:00:00Z", "driver_contact_id": contact}),
        ),
        (
            "tasks",
            json!({"title": "Call back", "due_at": "2099-01-11T10:00:00Z", "assignee_id": assignee}),
        ),
        (
            "follow-ups",
            json!({"deadline": "2099-01-12T10:00:00Z", "reason": "Financing answer"}),
        ),
        (
            "comments",
            json!({"text": "Wants delivery before Christmas"}),
        ),
        (
            "vehicle-requests",
            json!({"interest": "lease", "vehicle_id": vehicle, "make": "Opel", "model": "Corsa", "price": 29900}),
        ),
    ]
}

#[tokio::test]
async fn every_action_is_recorded_listed_and_in_the_details_tab() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let (opp, vehicle, contact) = opportunity(&s, &t).await;
    for (path, body) in actions(&vehicle, &contact, &t.admin_user_id) {
        let url = format!("/api/v1/opportunities/{opp}/{path}");
        let added = s.post(&url, &t.admin_token, body.clone()).await.ok(201);
        assert_eq!(added["created_by"], json!(t.admin_user_id), "{path}");
        let listed = s.get(&url, &t.admin_token).await.ok(200);
        assert_eq!(listed.ids(), vec![added.str("id")], "{path}");
        for (k, v) in body.as_object().unwrap() {
            assert!(
                listed["items"][0].get(k).is_some(),
                "{path} lists {k} ({v})"
            );
        }
    }
    let history = s
        .get(
            &format!("/api/v1/opportunities/{opp}/activity"),
            &t.admin_token,
        )
        .await
        .ok(200);
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["action"].as_str())
        .collect();
    for k in [
        "trade_in_added",
        "offer_added",
        "test_drive_added",
        "task_added",
        "follow_up_added",
        "comment_added",
        "vehicle_request_added",
        "created",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn actions_are_validated_and_name_the_field() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let (opp, vehicle, _) = opportunity(&s, &t).await;
    let cases = [
        (
            "offers",
            json!({"vehicle_id": vehicle, "price": 100, "discount": 200, "valid_until": "2099-12-31"}),
            "discount",
        ),
        (
            "offers",
            json!({"vehicle_id": vehicle, "price": 100, "valid_until": "2001-01-01"}),
            "valid_until",
        ),
        (
            "offers",
            json!({"vehicle_id": t.tenant_id, "price": 100, "valid_until": "2099-12-31"}),
            "vehicle_id",
        ),
        (
            "trade-ins",
            json!({"make": "Opel", "model": "Astra", "year": 2015, "mileage_km": -1, "valuation": 1}),
            "mileage_km",
        ),
        (
            "tasks",
            json!({"title": "x", "due_at": "2099-01-01T00:00:00Z", "assignee_id": t.tenant_id}),
            "assignee_id",
        ),
        ("comments", json!({"text": "  "}), "text"),
        (
            "comments",
            json!({"text": "hi", "created_by": t.admin_user_id}),
            "created_by",
        ),
        (
            "vehicle-requests",
            json!({"interest": "rent", "model": "Corsa"}),
            "interest",
        ),
        ("vehicle-requests", json!({"interest": "buy"}), "model"),
        (
            "test-drives",
            json!({"driver_contact_id": t.admin_user_id}),
            "vehicle_id",
        ),
    ];
    for (path, body, field) in cases {
        s.post(
            &format!("/api/v1/opportunities/{opp}/{path}"),
            &t.admin_token,
            body,
        )
        .await
        .invalid(field);
    }
    let comments = s
        .get(
            &format!("/api/v1/opportunities/{opp}/comments"),
            &t.admin_token,
        )
        .await
        .ok(200);
    assert!(comments.ids().is_empty(), "nothing refused was stored");
}

#[tokio::test]
async fn another_tenant_and_a_foreign_salesperson_get_404() {
    let s = TestServer::start().await;
    let (a, b) = (s.tenant("expert").await, s.tenant("expert").await);
    let (opp, vehicle, contact) = opportunity(&s, &a).await;
    // A salesperson of A sees only the opportunities assigned to them.
    let seller = s
        .create_user(&a.admin_token, &["salesperson"], Some(&a.establishment_id))
        .await;
    for (path, body) in actions(&vehicle, &contact, &a.admin_user_id) {
        let url = format!("/api/v1/opportunities/{opp}/{path}");
        for token in [&b.admin_token, &seller.token] {
            s.get(&url, token).await.problem(404, "not_found");
            s.post(&url, token, body.clone())
                .await
                .problem(404, "not_found");
        }
    }
    s.get(
        &format!("/api/v1/opportunities/{opp}/activity"),
        &b.admin_token,
    )
    .await
    .problem(404, "not_found");
    s.get(
        &format!("/api/v1/opportunities/{opp}/comments"),
        &a.admin_token,
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn reassignment_mails_the_new_assignee_in_the_tenant_language() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let (opp, _, _) = opportunity(&s, &t).await;
    let seller = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let moved = s
        .post(
            &format!("/api/v1/opportunities/{opp}/assign"),
            &t.admin_token,
            json!({"user_id": seller.id}),
        )
        .await
        .ok(200);
    assert_eq!(moved["assigned_user_id"], json!(seller.id));
    // Quoted-printable: undo the soft line breaks before reading the body.
    let mail = s
        .wait_for_mail(&seller.email)
        .await
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(mail.contains("vous a attribu"), "the French body: {mail}");
    assert!(mail.contains(&opp), "the mail links the opportunity");
    // The new assignee now reaches it; the history shows the reassignment.
    s.get(&format!("/api/v1/opportunities/{opp}"), &seller.token)
        .await
        .ok(200);
    let history = s
        .get(
            &format!("/api/v1/opportunities/{opp}/activity"),
            &t.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(history["items"][0]["action"], "assigned");
}

#[tokio::test]
async fn the_purchase_order_reaches_the_customer_in_the_chosen_language() {
    let s = TestServer::start().await;
    let (t, other) = (s.tenant("expert").await, s.tenant("expert").await);
    let (opp, vehicle, contact) = opportunity(&s, &t).await;
    let url = format!("/api/v1/opportunities/{opp}/purchase-order");
    s.post(&url, &t.admin_token, json!({}))
        .await
        .problem(422, "no_offer");
    let offer = json!({"vehicle_id": vehicle, "price": 2199000, "discount": 100000, "valid_until": "2099-12-31"});
    s.post(
        &format!("/api/v1/opportunities/{opp}/offers"),
        &t.admin_token,
        offer,
    )
    .await
    .ok(201);
    s.post(&url, &t.admin_token, json!({"language": "de"}))
        .await
        .invalid("language");
    s.post(&url, &other.admin_token, json!({}))
        .await
        .problem(404, "not_found");

    let sent = s
        .post(&url, &t.admin_token, json!({"language": "nl"}))
        .await
        .ok(202);
    let read = s
        .get(&format!("/api/v1/contacts/{contact}"), &t.admin_token)
        .await
        .ok(200);
    let email = read["emails"][0].as_str().unwrap().to_string();
    assert_eq!(sent["to"], json!(email));
    let mail = s
        .wait_for_mail(&email)
        .await
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(mail.contains("Bestelbon"), "Dutch subject: {mail}");
    assert!(
        mail.contains("Totaal: 20990.00 EUR"),
        "the offer's total: {mail}"
    );
    let history = s
        .get(
            &format!("/api/v1/opportunities/{opp}/activity"),
            &t.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(history["items"][0]["action"], "purchase_order_sent");
}

#[tokio::test]
async fn search_finds_the_customers_opportunities_and_stock_vehicles() {
    let s = TestServer::start().await;
    let (t, other) = (s.tenant("expert").await, s.tenant("expert").await);
    let (opp, vehicle, contact) = opportunity(&s, &t).await;
    let name = s
        .get(&format!("/api/v1/contacts/{contact}"), &t.admin_token)
        .await
        .ok(200)["last_name"]
        .as_str()
        .unwrap()
        .to_string();
    let vin = s
        .get(&format!("/api/v1/vehicles/{vehicle}"), &t.admin_token)
        .await
        .ok(200)
        .str("vin");

    let found = s
        .get(&format!("/api/v1/search?q={name}"), &t.admin_token)
        .await
        .ok(200);
    assert_eq!(found["contacts"][0]["id"], json!(contact));
    assert_eq!(found["opportunities"][0]["id"], json!(opp));
    let by_vin = s
        .get(&format!("/api/v1/search?q={}", &vin[..11]), &t.admin_token)
        .await
        .ok(200);
    assert!(
        by_vin["vehicles"].to_string().contains(&vehicle),
        "{by_vin}"
    );
    let by_model = s
        .get("/api/v1/search?q=opel%20cor", &t.admin_token)
        .await
        .ok(200);
    assert!(
        by_model["vehicles"].to_string().contains(&vehicle),
        "{by_model}"
    );

    for q in [name.as_str(), &vin[..11], "opel"] {
        let theirs = s
            .get(&format!("/api/v1/search?q={q}"), &other.admin_token)
            .await
            .ok(200);
        let text = theirs.to_string();
        assert!(
            !text.contains(&contact) && !text.contains(&opp) && !text.contains(&vehicle),
            "{q}: {theirs}"
        );
    }
}

#[tokio::test]
async fn the_purchase_order_goes_out_over_smtp_in_the_customers_language() {
    let smtp = forecourt_tests::smtp::SmtpReceiver::start().await;
    let url = smtp.url.clone();
    let s = TestServer::start_with(|c| {
        c.smtp_url = Some(forecourt_core::secret::Secret::new(url));
    })
    .await;
    let t = s.tenant("go").await;
    let (opp, vehicle, contact) = opportunity(&s, &t).await;
    // The customer reads English; the tenant's language is French.
    s.patch(
        &format!("/api/v1/contacts/{contact}"),
        &t.admin_token,
        json!({"language": "en-GB"}),
    )
    .await
    .ok(200);
    let read = s
        .get(&format!("/api/v1/contacts/{contact}"), &t.admin_token)
        .await
        .ok(200);
    assert_eq!(read["language"], "en");
    s.patch(
        &format!("/api/v1/contacts/{contact}"),
        &t.admin_token,
        json!({"language": "de"}),
    )
    .await
    .invalid("language");
    let email = read["emails"][0].as_str().unwrap().to_string();
    s.post(
        &format!("/api/v1/opportunities/{opp}/offers"),
        &t.admin_token,
        json!({"vehicle_id": vehicle, "price": 1850000, "discount": 50000, "valid_until": "2099-06-30"}),
    )
    .await
    .ok(201);
    let sent = s
        .post(
            &format!("/api/v1/opportunities/{opp}/purchase-order"),
            &t.admin_token,
            json!({}),
        )
        .await
        .ok(202);
    assert_eq!(sent["language"], "en");

    // Delivered over a real SMTP session, not written to the folder.
    let got = smtp.wait_for(&email).await;
    let data = got.data.replace("=\r\n", "").replace("=\n", "");
    assert!(
        data.contains("Subject: Purchase order: Opel Corsa"),
        "{data}"
    );
    assert!(data.contains("Total: 18000.00 EUR"), "{data}");
    assert!(got.from.contains('@'), "envelope sender: {got:?}");
    assert!(s.outbox_files().is_empty(), "nothing went to the folder");
    s.stop().await;
}

#[tokio::test]
async fn tasks_are_done_and_follow_ups_get_their_outcome() {
    let s = TestServer::start().await;
    let (t, other) = (s.tenant("go").await, s.tenant("go").await);
    let (opp, _, _) = opportunity(&s, &t).await;
    let base = format!("/api/v1/opportunities/{opp}");
    let task = s
        .post(
            &format!("{base}/tasks"),
            &t.admin_token,
            json!({"title": "Send the financing offer", "due_at": "2099-01-11T10:00:00Z", "assignee_id": t.admin_user_id}),
        )
        .await
        .ok(201)
        .str("id");
    let url = format!("{base}/tasks/{task}");
    // Another tenant, an unknown id, a user of another tenant: refused, nothing changes.
    s.patch(&url, &other.admin_token, json!({"done": true}))
        .await
        .problem(404, "not_found");
    s.patch(
        &format!("{base}/tasks/{}", uuid::Uuid::now_v7()),
        &t.admin_token,
        json!({"done": true}),
    )
    .await
    .problem(404, "not_found");
    s.patch(
        &url,
        &t.admin_token,
        json!({"assignee_id": other.admin_user_id}),
    )
    .await
    .invalid("assignee_id");
    s.patch(&url, &t.admin_token, json!({"done": true, "priority": 1}))
        .await
        .invalid("priority");
    let done = s
        .patch(&url, &t.admin_token, json!({"done": true}))
        .await
        .ok(200);
    assert_eq!(done["done"], true);
    assert_eq!(done["title"], "Send the financing offer");
    let listed = s
        .get(&format!("{base}/tasks"), &t.admin_token)
        .await
        .ok(200);
    assert_eq!(listed["items"][0]["done"], true);

    let follow_up = s
        .post(
            &format!("{base}/follow-ups"),
            &t.admin_token,
            json!({"deadline": "2099-01-12T10:00:00Z", "reason": "Financing answer"}),
        )
        .await
        .ok(201)
        .str("id");
    let updated = s
        .patch(
            &format!("{base}/follow-ups/{follow_up}"),
            &t.admin_token,
            json!({"outcome": "Financing approved, appointment Saturday"}),
        )
        .await
        .ok(200);
    assert_eq!(
        updated["outcome"],
        "Financing approved, appointment Saturday"
    );
    assert_eq!(updated["reason"], "Financing answer");

    let history = s
        .get(&format!("{base}/activity"), &t.admin_token)
        .await
        .ok(200);
    let task_update = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "task_updated")
        .expect("task update in the Details tab");
    assert_eq!(
        task_update["changes"]["done"],
        json!({"from": false, "to": true})
    );
    assert_eq!(history["items"][0]["action"], "follow_up_updated");
}
