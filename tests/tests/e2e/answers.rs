//! Answers that are the resource (issue 13, point 4): every create answers 201 with the
//! resource and its `Location`; money is integer cents; a date may stand for the end of that
//! day in the tenant's zone; an all-optional body may be left out; vehicles carry `trim`, a
//! row version, an `ETag` and `PATCH`; lead-page entries are corrected and withdrawn by their
//! author or a manager, each recorded with the actor's name.

use forecourt_tests::{Expect, Json, Method, Reply, Tenant, TestServer};
use serde_json::{Value, json};

fn vin() -> String {
    format!(
        "W0L0XCF08{:08}",
        uuid::Uuid::now_v7().as_u128() as u64 % 100_000_000
    )
}

/// Sends `body` as JSON, with `If-Match` when given.
async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: &Value,
) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(tag) = if_match {
        headers.push(("if-match", tag));
    }
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    s.send_with(method, path, token, &headers, bytes).await
}

/// POSTs `body`, expects 201 with a `Location` whose `GET` answers the same body (without
/// the fields in `extra`, which the create adds); returns the body.
async fn created_at_location(
    s: &TestServer,
    path: &str,
    token: &str,
    body: Value,
    extra: &[&str],
) -> (String, Value) {
    let r = s.send(Method::POST, path, token, &body).await;
    assert_eq!(r.status, 201, "{path}: {}", r.body);
    let location = r.header("location").to_string();
    assert!(location.starts_with("/api/v1/"), "{path}: {location:?}");
    let mut answered = r.body.clone();
    for f in extra {
        answered.as_object_mut().map(|o| o.remove(*f));
    }
    let read = s.send(Method::GET, &location, token, &Value::Null).await;
    assert_eq!(read.status, 200, "{location}: {}", read.body);
    assert_eq!(
        read.body, answered,
        "GET {location} answers the created body"
    );
    if !r.header("etag").is_empty() {
        assert_eq!(r.header("etag"), read.header("etag"), "{location}");
    }
    (location, r.body)
}

async fn vehicle(s: &TestServer, token: &str) -> String {
    s.post(
        "/api/v1/vehicles",
        token,
        json!({"vin": vin(), "make": "Opel", "model": "Corsa", "year": 2025, "price": 2590000}),
    )
    .await
    .ok(201)
    .str("id")
}

/// A contact, a vehicle and an opportunity made by `token`: (opportunity, vehicle, contact).
async fn opportunity(s: &TestServer, t: &Tenant, token: &str) -> (String, String, String) {
    let contact = s.create_contact(token).await;
    let v = vehicle(s, &t.admin_token).await;
    let o = s
        .post(
            "/api/v1/opportunities",
            token,
            json!({"contacts": [{"contact_id": contact}], "vehicle_ids": [v]}),
        )
        .await
        .ok(201)
        .str("id");
    (o, v, contact)
}

#[tokio::test]
async fn every_create_answers_the_resource_at_its_location() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let other = s.tenant("expert").await;
    let token = t.admin_token.as_str();
    let contact = s.create_contact(token).await;

    // The opportunity itself, its contacts' other open opportunities in a field of their own.
    let body = json!({"contacts": [{"contact_id": contact}]});
    let (first_at, first) = created_at_location(
        &s,
        "/api/v1/opportunities",
        token,
        body.clone(),
        &["other_open_opportunities"],
    )
    .await;
    assert_eq!(
        first_at,
        format!("/api/v1/opportunities/{}", first.str("id"))
    );
    assert_eq!(first["status"], "new");
    assert_eq!(first["contacts"][0]["contact_id"], json!(contact));
    assert_eq!(first["other_open_opportunities"], json!([]));
    let (_, second) = created_at_location(
        &s,
        "/api/v1/opportunities",
        token,
        body,
        &["other_open_opportunities"],
    )
    .await;
    let others: Vec<String> = second["other_open_opportunities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| o.str("id"))
        .collect();
    assert_eq!(others, vec![first.str("id")], "{second}");
    s.get(&first_at, &other.admin_token)
        .await
        .problem(404, "not_found");

    // Every other create of the CRM answers the same way.
    created_at_location(
        &s,
        "/api/v1/contacts",
        token,
        json!({"kind": "person", "last_name": "Janssens", "emails": ["j@example.be"]}),
        &[],
    )
    .await;
    let (vehicle_at, _) = created_at_location(
        &s,
        "/api/v1/vehicles",
        token,
        json!({"vin": vin(), "make": "Opel", "model": "Astra", "year": 2024, "price": 100}),
        &[],
    )
    .await;
    s.get(&vehicle_at, &other.admin_token)
        .await
        .problem(404, "not_found");
    let opp = first.str("id");
    let v = vehicle(&s, token).await;
    for (kind, body) in [
        (
            "trade-ins",
            json!({"make": "Opel", "model": "Astra", "valuation": 450000}),
        ),
        (
            "offers",
            json!({"vehicle_id": v, "price": 2590000, "discount": 100000, "valid_until": "2099-12-31"}),
        ),
        (
            "test-drives",
            json!({"vehicle_id": v, "driver_contact_id": contact}),
        ),
        (
            "tasks",
            json!({"title": "Call", "due_at": "2099-01-01T10:00:00Z", "assignee_id": t.admin_user_id}),
        ),
        (
            "follow-ups",
            json!({"deadline": "2099-01-01", "reason": "Financing"}),
        ),
        ("comments", json!({"text": "Likes red"})),
        (
            "vehicle-requests",
            json!({"interest": "buy", "make": "Opel", "model": "Mokka", "price": 2500000}),
        ),
    ] {
        let path = format!("/api/v1/opportunities/{opp}/{kind}");
        let (at, item) = created_at_location(&s, &path, token, body, &[]).await;
        assert_eq!(at, format!("{path}/{}", item.str("id")));
        s.get(&at, &other.admin_token)
            .await
            .problem(404, "not_found");
    }

    // And so do the creates of the other modules and of the tenant's administration.
    created_at_location(
        &s,
        "/api/v1/lead-sources",
        token,
        json!({"name": "Web"}),
        &[],
    )
    .await;
    created_at_location(
        &s,
        "/api/v1/statuses?entity=opportunity",
        token,
        json!({"key": "waiting", "labels": {"fr": "En attente", "nl": "Wachten", "en": "Waiting"}, "kind": "open"}),
        &[],
    )
    .await;
    created_at_location(
        &s,
        "/api/v1/teams",
        token,
        json!({"name": "Used cars"}),
        &[],
    )
    .await;
    created_at_location(
        &s,
        "/api/v1/companies",
        token,
        json!({"name": "Garage Twee"}),
        &[],
    )
    .await;
    created_at_location(
        &s,
        "/api/v1/establishments",
        token,
        json!({"name": "Gent", "company_id": t.company_id}),
        &[],
    )
    .await;
    let user = json!({"email": forecourt_tests::unique_email("u"), "name": "Ann", "password": forecourt_tests::PASSWORD, "roles": ["salesperson"]});
    let r = s.send(Method::POST, "/api/v1/users", token, &user).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("location"),
        format!("/api/v1/users/{}", r.body.str("id"))
    );
    s.stop().await;
}

#[tokio::test]
async fn money_is_integer_cents() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let token = t.admin_token.as_str();
    let v = s
        .post(
            "/api/v1/vehicles",
            token,
            json!({"vin": vin(), "make": "Opel", "model": "Corsa", "year": 2025, "price": 2590000}),
        )
        .await
        .ok(201);
    assert_eq!(v["price"], json!(2590000), "never 25900.0: {v}");
    assert!(v["price"].is_i64());
    let read = s
        .get(&format!("/api/v1/vehicles/{}", v.str("id")), token)
        .await
        .ok(200);
    assert_eq!(read["price"], json!(2590000));
    let listed = s.get("/api/v1/vehicles", token).await.ok(200);
    assert_eq!(listed["items"][0]["price"], json!(2590000));
    for bad in [json!(25900.5), json!(25900.0), json!(-1), json!("2590000")] {
        s.post(
            "/api/v1/vehicles",
            token,
            json!({"vin": vin(), "make": "Opel", "model": "Corsa", "year": 2025, "price": bad}),
        )
        .await
        .invalid("price");
    }

    let (opp, vehicle_id, _) = opportunity(&s, &t, token).await;
    let offer = s
        .post(
            &format!("/api/v1/opportunities/{opp}/offers"),
            token,
            json!({"vehicle_id": vehicle_id, "price": 2590000, "discount": 125050, "valid_until": "2099-12-31"}),
        )
        .await
        .ok(201);
    assert_eq!(
        (&offer["price"], &offer["discount"]),
        (&json!(2590000), &json!(125050))
    );
    let trade_in = s
        .post(
            &format!("/api/v1/opportunities/{opp}/trade-ins"),
            token,
            json!({"make": "Opel", "model": "Astra", "valuation": 450099}),
        )
        .await
        .ok(201);
    assert_eq!(trade_in["valuation"], json!(450099));
    s.post(
        &format!("/api/v1/opportunities/{opp}/trade-ins"),
        token,
        json!({"make": "Opel", "model": "Astra", "valuation": 4500.99}),
    )
    .await
    .invalid("valuation");

    // The purchase order prints the cents as euros.
    let sent = s
        .post(
            &format!("/api/v1/opportunities/{opp}/purchase-order"),
            token,
            json!({"language": "en"}),
        )
        .await
        .ok(202);
    let mail = s
        .wait_for_mail(sent["to"].as_str().unwrap_or_default())
        .await
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(mail.contains("Total: 24649.50 EUR"), "{mail}");
    s.stop().await;
}

#[tokio::test]
async fn a_date_only_deadline_is_the_end_of_that_day_in_the_tenant_zone() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let token = t.admin_token.as_str();
    let (opp, _, _) = opportunity(&s, &t, token).await;
    let follow_ups = format!("/api/v1/opportunities/{opp}/follow-ups");
    // A Belgian tenant: Brussels is UTC+1 in winter, UTC+2 in summer.
    let f = s
        .post(
            &follow_ups,
            token,
            json!({"deadline": "2026-12-31", "reason": "Call back"}),
        )
        .await
        .ok(201);
    assert_eq!(f["deadline"], "2026-12-31T22:59:59Z", "{f}");
    let moved = s
        .patch(
            &format!("{follow_ups}/{}", f.str("id")),
            token,
            json!({"deadline": "2026-07-01"}),
        )
        .await
        .ok(200);
    assert_eq!(moved["deadline"], "2026-07-01T21:59:59Z", "{moved}");
    let listed = s.get(&follow_ups, token).await.ok(200);
    assert_eq!(listed["items"][0]["deadline"], "2026-07-01T21:59:59Z");
    let task = s
        .post(
            &format!("/api/v1/opportunities/{opp}/tasks"),
            token,
            json!({"title": "Papers", "due_at": "2027-03-15", "assignee_id": t.admin_user_id}),
        )
        .await
        .ok(201);
    assert_eq!(task["due_at"], "2027-03-15T22:59:59Z", "{task}");
    // A date-time stays what it says.
    let exact = s
        .post(
            &follow_ups,
            token,
            json!({"deadline": "2026-12-31T09:30:00+01:00", "reason": "Exact"}),
        )
        .await
        .ok(201);
    assert_eq!(exact["deadline"], "2026-12-31T08:30:00Z");
    let p = s
        .post(
            &follow_ups,
            token,
            json!({"deadline": "31/12/2026", "reason": "Call back"}),
        )
        .await
        .invalid("deadline");
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("2026-12-31"),
        "the detail shows the format: {p}"
    );
    s.stop().await;
}

#[tokio::test]
async fn an_all_optional_body_may_be_left_out() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let other = s.tenant("go").await;
    let token = t.admin_token.as_str();
    let (opp, vehicle_id, _) = opportunity(&s, &t, token).await;
    s.post(
        &format!("/api/v1/opportunities/{opp}/offers"),
        token,
        json!({"vehicle_id": vehicle_id, "price": 2590000, "valid_until": "2099-12-31"}),
    )
    .await
    .ok(201);
    let url = format!("/api/v1/opportunities/{opp}/purchase-order");
    // No body and no content type, then a blank JSON body: both mean `{}`.
    let r = s
        .send_with(Method::POST, &url, token, &[], Vec::new())
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body["mail_id"].is_string());
    let r = s
        .send_raw(Method::POST, &url, token, "application/json", b" ".to_vec())
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Another tenant's opportunity stays out of reach without a body too.
    let r = s
        .send_with(Method::POST, &url, &other.admin_token, &[], Vec::new())
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // A body with a required field still needs it.
    let r = s
        .send_raw(
            Method::POST,
            &format!("/api/v1/opportunities/{opp}/comments"),
            token,
            "application/json",
            Vec::new(),
        )
        .await;
    assert!(r.status.is_client_error() && r.status != 404, "{r:?}");
    s.stop().await;
}

#[tokio::test]
async fn vehicles_have_a_trim_an_etag_and_patch() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let other = s.tenant("go").await;
    let token = t.admin_token.as_str();
    let made = s
        .send(
            Method::POST,
            "/api/v1/vehicles",
            token,
            &json!({"vin": vin(), "make": "Opel", "model": "Astra", "trim": "GS Line", "year": 2024, "price": 2745000}),
        )
        .await;
    assert_eq!(made.status, 201);
    assert_eq!(made.body["trim"], "GS Line");
    assert_eq!(made.body["version"], 1, "the row version: {}", made.body);
    assert_eq!(made.header("etag"), "\"1\"");
    let at = made.header("location").to_string();
    let read = s.send(Method::GET, &at, token, &Value::Null).await;
    assert_eq!(read.header("etag"), "\"1\"");

    let changed = send(
        &s,
        Method::PATCH,
        &at,
        token,
        Some("\"1\""),
        &json!({"price": 2599000, "status": "reserved", "trim": "Ultimate", "mileage_km": 10}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["price"], 2599000);
    assert_eq!(changed.body["status"], "reserved");
    assert_eq!(changed.body["trim"], "Ultimate");
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.header("etag"), "\"2\"");
    // A stale tag: 412, nothing changes.
    let stale = send(
        &s,
        Method::PATCH,
        &at,
        token,
        Some("\"1\""),
        &json!({"status": "sold"}),
    )
    .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let now = s.get(&at, token).await.ok(200);
    assert_eq!(now["status"], "reserved");
    // `null` clears the trim; a wrong status or a decimal price is refused.
    let cleared = s.patch(&at, token, json!({"trim": null})).await.ok(200);
    assert_eq!(cleared["trim"], Value::Null);
    s.patch(&at, token, json!({"status": "stolen"}))
        .await
        .invalid("status");
    s.patch(&at, token, json!({"price": 10.5}))
        .await
        .invalid("price");
    s.patch(&at, token, json!({"version": "GS"}))
        .await
        .invalid("version");
    // Salespeople read the stock but do not change it; another tenant does not see it.
    let seller = s
        .create_user(token, &["salesperson"], Some(&t.establishment_id))
        .await;
    s.patch(&at, &seller.token, json!({"price": 1}))
        .await
        .problem(403, "forbidden");
    s.patch(&at, &other.admin_token, json!({"price": 1}))
        .await
        .problem(404, "not_found");
    s.get(&at, &other.admin_token)
        .await
        .problem(404, "not_found");
    s.stop().await;
}

/// Equal values, instants compared as instants (`Z` and `+00:00` are one time).
fn same(a: &Value, b: &Value) -> bool {
    let instant = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok();
    match (instant(a), instant(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The path of each authored kind, a body to add one and a correction.
fn authored(vehicle: &str, contact: &str) -> Vec<(&'static str, Value, Value, &'static str)> {
    vec![
        (
            "offers",
            json!({"vehicle_id": vehicle, "price": 2590000, "valid_until": "2099-12-31"}),
            json!({"discount": 50000}),
            "offer",
        ),
        (
            "trade-ins",
            json!({"make": "Opel", "model": "Astra", "valuation": 450000}),
            json!({"valuation": 480000, "year": 2016}),
            "trade_in",
        ),
        (
            "test-drives",
            json!({"vehicle_id": vehicle, "driver_contact_id": contact}),
            json!({"scheduled_at": "2099-02-01T10:00:00+00:00"}),
            "test_drive",
        ),
        (
            "comments",
            json!({"text": "Wants it in red"}),
            json!({"text": "Wants it in blue"}),
            "comment",
        ),
    ]
}

#[tokio::test]
async fn lead_page_entries_are_corrected_and_withdrawn_by_their_author_or_a_manager() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let other = s.tenant("go").await;
    let admin = t.admin_token.as_str();
    let est = Some(t.establishment_id.as_str());
    let author = s.create_user(admin, &["salesperson"], est).await;
    let colleague = s.create_user(admin, &["salesperson"], est).await;
    let manager = s.create_user(admin, &["manager"], est).await;
    let (opp, vehicle_id, contact) = opportunity(&s, &t, &author.token).await;
    let author_name = s
        .get(&format!("/api/v1/users/{}", author.user_id), admin)
        .await
        .ok(200)
        .str("name");
    let manager_name = s
        .get(&format!("/api/v1/users/{}", manager.user_id), admin)
        .await
        .ok(200)
        .str("name");

    let mut items = Vec::new();
    for (kind, body, _, _) in authored(&vehicle_id, &contact) {
        let url = format!("/api/v1/opportunities/{opp}/{kind}");
        let item = s.post(&url, &author.token, body).await.ok(201);
        items.push(format!("{url}/{}", item.str("id")));
    }

    // A colleague who does not reach the opportunity: 404, as for any record out of reach.
    for at in &items {
        s.patch(at, &colleague.token, json!({}))
            .await
            .problem(404, "not_found");
        s.delete(at, &colleague.token, Value::Null)
            .await
            .problem(404, "not_found");
        s.patch(at, &other.admin_token, json!({}))
            .await
            .problem(404, "not_found");
        s.delete(at, &other.admin_token, Value::Null)
            .await
            .problem(404, "not_found");
    }
    // Once they write every opportunity of the tenant, they still may not change another's
    // entries: 403.
    s.post(
        "/api/v1/permissions",
        admin,
        json!({"subject": format!("user:{}", colleague.user_id), "object": "opportunities", "action": "write", "scope": "tenant"}),
    )
    .await
    .ok(201);
    for (at, (_, _, fix, _)) in items.iter().zip(authored(&vehicle_id, &contact)) {
        s.patch(at, &colleague.token, fix.clone())
            .await
            .problem(403, "forbidden");
        s.delete(at, &colleague.token, Value::Null)
            .await
            .problem(403, "forbidden");
    }

    // The author corrects each, a manager of the site too.
    for (at, (kind, _, fix, stored)) in items.iter().zip(authored(&vehicle_id, &contact)) {
        let fixed = s.patch(at, &author.token, fix.clone()).await.ok(200);
        for (k, v) in fix.as_object().into_iter().flatten() {
            assert_eq!(&fixed[k], v, "{kind}.{k}: {fixed}");
        }
        assert_eq!(s.get(at, admin).await.ok(200), fixed, "{kind}");
        let by_manager = s.patch(at, &manager.token, json!({})).await.ok(200);
        assert_eq!(by_manager, fixed, "{kind}");
        let history = s
            .get(&format!("/api/v1/opportunities/{opp}/activity"), admin)
            .await
            .ok(200)
            .items();
        let entry = history
            .iter()
            .find(|e| {
                e["action"] == format!("{stored}_updated")
                    && e["actor_user_id"] == json!(author.user_id)
            })
            .unwrap_or_else(|| panic!("{stored}_updated in {history:?}"));
        assert_eq!(entry["actor_name"], json!(author_name), "{entry}");
        assert!(
            entry["label"].is_string(),
            "the opportunity's label: {entry}"
        );
        let first = fix
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        assert!(
            same(&entry["changes"][&first]["to"], &fix[&first]),
            "{entry}"
        );
    }

    // The author withdraws the offer and the trade-in, the manager the test drive and the
    // comment; each leaves the lead page and stays in the Details tab.
    for (i, at) in items.iter().enumerate() {
        let who = if i < 2 { &author.token } else { &manager.token };
        let r = s.send(Method::DELETE, at, who, &Value::Null).await;
        assert_eq!(r.status, 204, "{at}: {}", r.body);
        s.get(at, admin).await.problem(404, "not_found");
    }
    let history = s
        .get(&format!("/api/v1/opportunities/{opp}/activity"), admin)
        .await
        .ok(200)
        .items();
    for (i, (_, _, _, stored)) in authored(&vehicle_id, &contact).into_iter().enumerate() {
        let name = if i < 2 { &author_name } else { &manager_name };
        assert!(
            history
                .iter()
                .any(|e| e["action"] == format!("{stored}_withdrawn")
                    && e["actor_name"] == json!(name)),
            "{stored}_withdrawn by {name}: {history:?}"
        );
    }
    s.stop().await;
}
