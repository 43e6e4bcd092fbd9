//! Opportunities (leads), stock vehicles and the expiry rule: creation and validation, status,
//! assignment and contacts, permissions, the admin-only `expired` flag evaluated at several
//! dates, contact merge and tenant isolation.

use chrono::{DateTime, Duration, Utc};
use forecourt_tests::{Expect, Json, TestServer, unique, unique_email};
use serde_json::{Value, json};

const OPPS: &str = "/api/v1/opportunities";
const VEHICLES: &str = "/api/v1/vehicles";
const EXPIRY: &str = "/api/v1/settings/expiry";

fn opp_path(id: &str) -> String {
    format!("{OPPS}/{id}")
}

/// A fresh valid VIN (17 characters, no I/O/Q): an Opel prefix and 8 random digits.
fn fresh_vin() -> String {
    let tail: String = unique("v")
        .chars()
        .skip(2)
        .take(8)
        .map(|c| char::from_digit(c.to_digit(16).unwrap() % 10, 10).unwrap())
        .collect();
    format!("W0L0XCF08{tail}")
}

/// Creates a person and returns its id.
async fn contact(s: &TestServer, token: &str) -> String {
    contact_with(s, token, json!({})).await
}

/// Creates a person with extra members (e.g. `blocked`) and returns its id.
async fn contact_with(s: &TestServer, token: &str, extra: Value) -> String {
    let mut body = json!({"kind": "person", "first_name": "Lea", "last_name": unique("Lead"),
                          "emails": [unique_email("lead")]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    s.post("/api/v1/contacts", token, body)
        .await
        .ok(201)
        .str("id")
}

/// Creates a stock vehicle and returns it.
async fn vehicle(s: &TestServer, token: &str) -> Value {
    s.post(
        VEHICLES,
        token,
        json!({"vin": fresh_vin(), "make": "Opel", "model": "Corsa", "year": 2024, "price": 2199000}),
    )
    .await
    .ok(201)
}

/// Creates an opportunity and returns the whole answer: the opportunity and its
/// `other_open_opportunities`.
async fn create_opp(s: &TestServer, token: &str, body: Value) -> Value {
    s.post(OPPS, token, body).await.ok(201)
}

/// The opportunity of a create's answer, as `GET` answers it.
fn opportunity_of(created: &Value) -> Value {
    let mut o = created.clone();
    o.as_object_mut()
        .map(|m| m.remove("other_open_opportunities"));
    o
}

/// Creates an opportunity on one contact and returns the opportunity.
async fn opp_for(s: &TestServer, token: &str, contact_id: &str) -> Value {
    opportunity_of(&create_opp(s, token, json!({"contacts": [{"contact_id": contact_id}]})).await)
}

/// Every opportunity id the caller can list, following the cursor.
async fn all_opp_ids(s: &TestServer, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = format!("{OPPS}?limit=100");
    loop {
        let page = s.get(&path, token).await.ok(200);
        ids.extend(page.ids());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("{OPPS}?limit=100&cursor={c}"),
            None => return ids,
        }
    }
}

fn created_at(o: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&o.str("created_at"))
        .unwrap()
        .with_timezone(&Utc)
}

fn contact_ids_of(o: &Value) -> Vec<String> {
    o["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.str("contact_id"))
        .collect()
}

#[tokio::test]
async fn vehicles_create_validate_read_and_permissions() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let est = t.establishment_id.as_str();
    let vin = fresh_vin();
    let v = s
        .post(
            VEHICLES,
            &t.admin_token,
            json!({"vin": format!(" {} ", vin.to_lowercase()), "make": "Opel", "model": "Astra",
                   "trim": "GS Line", "year": 2023, "mileage_km": 12000, "price": 2745050}),
        )
        .await
        .ok(201);
    assert_eq!(v["vin"], vin.as_str(), "VIN upper-cased and trimmed: {v}");
    assert_eq!(v["make"], "Opel");
    assert_eq!(v["model"], "Astra");
    assert_eq!(v["trim"], "GS Line");
    assert_eq!(v["year"], 2023);
    assert_eq!(v["mileage_km"], 12000);
    assert_eq!(v["price"], 2745050, "integer cents: {v}");
    assert_eq!(v["status"], "in_stock", "default status: {v}");
    assert!(v["created_at"].is_string() && v["updated_at"].is_string());
    let id = v.str("id");
    assert_eq!(
        s.get(&format!("{VEHICLES}/{id}"), &t.admin_token)
            .await
            .ok(200),
        v
    );

    // The VIN is unique in the tenant, whatever its case.
    s.post(
        VEHICLES,
        &t.admin_token,
        json!({"vin": vin.to_lowercase(), "make": "Opel", "model": "Astra", "year": 2023, "price": 100}),
    )
    .await
    .problem(409, "duplicate_vin");

    for bad in [
        "W0L0XCF081400000",   // 16
        "W0L0XCF08140000011", // 18
        "W0L0XCF081400000I",  // I
        "W0L0XCF081400000O",  // O
        "W0L0XCF081400000Q",  // Q
        "W0L0XCF08140000-1",  // punctuation
        "",
    ] {
        s.post(
            VEHICLES,
            &t.admin_token,
            json!({"vin": bad, "make": "Opel", "model": "Corsa", "year": 2024, "price": 100}),
        )
        .await
        .invalid("vin");
    }
    let base =
        json!({"vin": fresh_vin(), "make": "Opel", "model": "Corsa", "year": 2024, "price": 100});
    let with = |k: &str, val: Value| {
        let mut b = base.clone();
        b[k] = val;
        b
    };
    s.post(VEHICLES, &t.admin_token, with("year", json!(1800)))
        .await
        .invalid("year");
    s.post(VEHICLES, &t.admin_token, with("price", json!(-100)))
        .await
        .invalid("price");
    // Euros with decimals are no longer amounts: prices are integer cents.
    s.post(VEHICLES, &t.admin_token, with("price", json!(274.5)))
        .await
        .invalid("price");
    s.post(VEHICLES, &t.admin_token, with("mileage_km", json!(-5)))
        .await
        .invalid("mileage_km");
    s.post(VEHICLES, &t.admin_token, with("make", json!("  ")))
        .await
        .invalid("make");
    s.post(VEHICLES, &t.admin_token, with("status", json!("stolen")))
        .await
        .ok(422);

    // Status filter.
    let sold = s
        .post(
            VEHICLES,
            &t.admin_token,
            json!({"vin": fresh_vin(), "make": "Opel", "model": "Mokka", "year": 2022, "price": 1800000, "status": "sold"}),
        )
        .await
        .ok(201);
    assert_eq!(sold["status"], "sold");
    let all = s.get(VEHICLES, &t.admin_token).await.ok(200).ids();
    assert!(
        all.contains(&id) && all.contains(&sold.str("id")),
        "{all:?}"
    );
    let only_sold = s
        .get(&format!("{VEHICLES}?status=sold"), &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert_eq!(only_sold, vec![sold.str("id")]);
    let in_stock = s
        .get(&format!("{VEHICLES}?status=in_stock"), &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert_eq!(in_stock, vec![id.clone()]);

    s.get(
        &format!("{VEHICLES}/{}", uuid::Uuid::now_v7()),
        &t.admin_token,
    )
    .await
    .problem(404, "not_found");

    // Permissions: manager writes, salesperson and receptionist read only.
    let manager = s.create_user(&t.admin_token, &["manager"], Some(est)).await;
    vehicle(&s, &manager.token).await;
    for role in ["salesperson", "receptionist"] {
        let u = s.create_user(&t.admin_token, &[role], Some(est)).await;
        s.get(VEHICLES, &u.token).await.ok(200);
        s.get(&format!("{VEHICLES}/{id}"), &u.token).await.ok(200);
        s.get(&format!("{VEHICLES}/{id}/opportunities"), &u.token)
            .await
            .ok(200);
        let (status, body) = s
            .post(
                VEHICLES,
                &u.token,
                json!({"vin": fresh_vin(), "make": "Opel", "model": "Corsa", "year": 2024, "price": 100}),
            )
            .await;
        assert_eq!(status, 403, "{role} created a vehicle: {body}");
    }
}

#[tokio::test]
async fn opportunities_create_validates_and_shows_other_open_ones() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let c1 = contact(&s, tok).await;
    let c2 = contact(&s, tok).await;
    let v = vehicle(&s, tok).await.str("id");

    let first = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": c1, "role": "buyer"}, {"contact_id": c2, "role": "driver"}],
               "customer_info": "  Wants a Corsa-e, white  ", "vehicle_ids": [v, v]}),
    )
    .await;
    let o = &opportunity_of(&first);
    assert_eq!(
        o["contacts"],
        json!([{"contact_id": c1, "role": "buyer"}, {"contact_id": c2, "role": "driver"}]),
        "{o}"
    );
    assert_eq!(o["customer_info"], "Wants a Corsa-e, white");
    assert_eq!(o["status"], "new", "default status: {o}");
    assert_eq!(o["closed"], false);
    assert!(
        o["lost_reason"].is_null() && o["closed_at"].is_null(),
        "{o}"
    );
    assert!(o["source_id"].is_null());
    assert_eq!(
        o["assigned_user_id"],
        t.admin_user_id.as_str(),
        "the caller by default"
    );
    assert_eq!(o["establishment_id"], t.establishment_id.as_str());
    assert_eq!(o["vehicle_ids"], json!([v]), "duplicates folded: {o}");
    assert_eq!(o["expired"], false, "admins see the flag: {o}");
    assert!(o["created_at"].is_string() && o["updated_at"].is_string());
    assert_eq!(first["other_open_opportunities"], json!([]));
    let first_id = o.str("id");
    assert_eq!(s.get(&opp_path(&first_id), tok).await.ok(200), *o);

    // A second lead for the same customer answers the first one, so it can be extended.
    let second = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": c1}], "status": "offer_sent"}),
    )
    .await;
    assert_eq!(second["status"], "offer_sent");
    assert_eq!(
        second["contacts"],
        json!([{"contact_id": c1, "role": null}])
    );
    let others: Vec<String> = second["other_open_opportunities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.str("id"))
        .collect();
    assert_eq!(others, vec![first_id.clone()]);

    // Closed opportunities are not "other open" ones.
    s.post(
        &format!("{}/status", opp_path(&first_id)),
        tok,
        json!({"status": "won"}),
    )
    .await
    .ok(200);
    let third = create_opp(&s, tok, json!({"contacts": [{"contact_id": c2}]})).await;
    assert_eq!(third["other_open_opportunities"], json!([]), "{third}");

    // Validation.
    let blocked = contact_with(&s, tok, json!({"blocked": true})).await;
    s.post(OPPS, tok, json!({"contacts": [{"contact_id": blocked}]}))
        .await
        .problem(422, "contact_blocked");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c1}, {"contact_id": blocked}]}),
    )
    .await
    .problem(422, "contact_blocked");
    s.post(OPPS, tok, json!({"contacts": []}))
        .await
        .invalid("contacts");
    s.post(OPPS, tok, json!({})).await.invalid("contacts");
    for status in ["won", "lost", "bogus"] {
        s.post(
            OPPS,
            tok,
            json!({"contacts": [{"contact_id": c1}], "status": status}),
        )
        .await
        .invalid("status");
    }
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c1}], "source_id": uuid::Uuid::now_v7()}),
    )
    .await
    .invalid("source_id");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": uuid::Uuid::now_v7()}]}),
    )
    .await
    .problem(404, "not_found");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c1}], "vehicle_ids": [uuid::Uuid::now_v7()]}),
    )
    .await
    .invalid("vehicle_ids[0]");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c1}], "assigned_user_id": uuid::Uuid::now_v7()}),
    )
    .await
    .invalid("assigned_user_id");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c1}], "establishment_id": uuid::Uuid::now_v7()}),
    )
    .await
    .invalid("establishment_id");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c1, "role": "x".repeat(61)}]}),
    )
    .await
    .invalid("contacts[0].role");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c1}], "expired": true}),
    )
    .await
    .invalid("expired");
    // None of the refused requests left an opportunity behind.
    assert_eq!(all_opp_ids(&s, tok).await.len(), 3);

    // The vehicle lists the opportunity that involves it.
    let involving = s
        .get(&format!("{VEHICLES}/{v}/opportunities"), tok)
        .await
        .ok(200)
        .ids();
    assert_eq!(involving, vec![first_id]);
}

#[tokio::test]
async fn opportunities_take_an_expert_tenants_lead_source() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let sources = s.get("/api/v1/lead-sources", tok).await.ok(200).items();
    assert!(!sources.is_empty(), "an Expert tenant has default sources");
    let source = sources[0].str("id");
    let c = contact(&s, tok).await;
    let o = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": c}], "source_id": source}),
    )
    .await
    .clone();
    assert_eq!(o["source_id"], source.as_str());
    let id = o.str("id");

    let other = s.create_source(tok).await.str("id");
    let patched = s
        .patch(&opp_path(&id), tok, json!({"source_id": other}))
        .await
        .ok(200);
    assert_eq!(patched["source_id"], other.as_str());
    s.patch(
        &opp_path(&id),
        tok,
        json!({"source_id": uuid::Uuid::now_v7()}),
    )
    .await
    .invalid("source_id");
    let cleared = s
        .patch(&opp_path(&id), tok, json!({"source_id": null}))
        .await
        .ok(200);
    assert!(cleared["source_id"].is_null(), "{cleared}");

    // Another tenant's source is not one of this tenant's.
    let t2 = s.tenant("expert").await;
    let foreign = s.create_source(&t2.admin_token).await.str("id");
    s.post(
        OPPS,
        tok,
        json!({"contacts": [{"contact_id": c}], "source_id": foreign}),
    )
    .await
    .invalid("source_id");
}

/// A GET of one opportunity is its row and its children (contacts with roles, vehicles, in
/// their order) in one statement, beside the principal, which the node keeps in-process: at
/// most two statements in the steady state, and the same answer the creation gave.
#[tokio::test]
async fn opportunity_get_reads_the_row_and_its_children_in_one_statement() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let (c1, c2) = (contact(&s, tok).await, contact(&s, tok).await);
    let (v1, v2) = (
        vehicle(&s, tok).await.str("id"),
        vehicle(&s, tok).await.str("id"),
    );
    let created = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": c2, "role": "driver"}, {"contact_id": c1}],
               "customer_info": "Two of each", "vehicle_ids": [v2, v1]}),
    )
    .await;
    let created = opportunity_of(&created);
    let path = opp_path(&created.str("id"));
    let read = s.get(&path, tok).await.ok(200);
    assert_eq!(read, created, "the GET answers what the creation answered");
    assert_eq!(
        read["contacts"],
        json!([{"contact_id": c2, "role": "driver"}, {"contact_id": c1, "role": null}])
    );
    assert_eq!(read["vehicle_ids"], json!([v2, v1]));
    let bare = s
        .get(&opp_path(&opp_for(&s, tok, &c1).await.str("id")), tok)
        .await
        .ok(200);
    assert_eq!(bare["vehicle_ids"], json!([]));

    let n = s.statements_per_get(&path, tok).await;
    assert!(n <= 2, "GET {path} sent {n} statements in the steady state");
}

#[tokio::test]
async fn opportunities_status_patch_contacts_and_listing() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let c1 = contact(&s, tok).await;
    let c2 = contact(&s, tok).await;
    let v1 = vehicle(&s, tok).await.str("id");
    let v2 = vehicle(&s, tok).await.str("id");
    let o = opp_for(&s, tok, &c1).await;
    let id = o.str("id");
    let path = opp_path(&id);
    let status = format!("{path}/status");

    // PATCH: customer info, vehicles; `expired` and other fields are refused.
    let p = s
        .patch(
            &path,
            tok,
            json!({"customer_info": "Trade-in of a 2015 Astra", "vehicle_ids": [v2, v1]}),
        )
        .await
        .ok(200);
    assert_eq!(p["customer_info"], "Trade-in of a 2015 Astra");
    assert_eq!(p["vehicle_ids"], json!([v2, v1]), "order kept: {p}");
    let p = s
        .patch(&path, tok, json!({"vehicle_ids": [v1]}))
        .await
        .ok(200);
    assert_eq!(p["vehicle_ids"], json!([v1]), "the list is replaced: {p}");
    assert_eq!(p["customer_info"], "Trade-in of a 2015 Astra", "untouched");
    let p = s
        .patch(&path, tok, json!({"customer_info": null}))
        .await
        .ok(200);
    assert!(p["customer_info"].is_null(), "{p}");
    for body in [
        json!({"expired": true}),
        json!({"expired": false}),
        json!({"customer_info": "x", "expired": false}),
    ] {
        s.patch(&path, tok, body).await.invalid("expired");
    }
    s.patch(&path, tok, json!({"status": "won"}))
        .await
        .invalid("status");
    s.patch(&path, tok, json!({"vehicle_ids": [uuid::Uuid::now_v7()]}))
        .await
        .invalid("vehicle_ids[0]");
    assert_eq!(
        s.get(&path, tok).await.ok(200)["vehicle_ids"],
        json!([v1]),
        "a refused PATCH changes nothing"
    );
    s.patch(&opp_path(&uuid::Uuid::now_v7().to_string()), tok, json!({}))
        .await
        .problem(404, "not_found");

    // Status.
    let changed = s
        .post(&status, tok, json!({"status": "taken_in_charge"}))
        .await
        .ok(200);
    assert_eq!(changed["status"], "taken_in_charge");
    assert_eq!(changed["closed"], false);
    s.post(&status, tok, json!({"status": "bogus"}))
        .await
        .invalid("status");
    s.post(&status, tok, json!({"status": "lost"}))
        .await
        .invalid("reason");
    s.post(&status, tok, json!({"status": "lost", "reason": "   "}))
        .await
        .invalid("reason");
    assert_eq!(s.get(&path, tok).await.ok(200)["status"], "taken_in_charge");
    let lost = s
        .post(
            &status,
            tok,
            json!({"status": "lost", "reason": "Bought elsewhere"}),
        )
        .await
        .ok(200);
    assert_eq!(lost["status"], "lost");
    assert_eq!(lost["closed"], true);
    assert_eq!(lost["lost_reason"], "Bought elsewhere");
    assert!(lost["closed_at"].is_string(), "{lost}");
    // Closed stays closed; going back to an open status is a reopen (defects_lead_page.rs).
    s.post(&status, tok, json!({"status": "won"}))
        .await
        .problem(409, "opportunity_closed");
    s.post(&status, tok, json!({"status": "lost", "reason": "again"}))
        .await
        .problem(409, "opportunity_closed");

    let won = opp_for(&s, tok, &c1).await.str("id");
    let w = s
        .post(
            &format!("{}/status", opp_path(&won)),
            tok,
            json!({"status": "won"}),
        )
        .await
        .ok(200);
    assert_eq!(w["closed"], true);
    assert!(
        w["lost_reason"].is_null() && w["closed_at"].is_string(),
        "{w}"
    );
    s.post(
        &format!("{}/status", opp_path(&won)),
        tok,
        json!({"status": "lost", "reason": "changed mind"}),
    )
    .await
    .problem(409, "opportunity_closed");

    // Contacts.
    let open = opp_for(&s, tok, &c1).await.str("id");
    let contacts = format!("{}/contacts", opp_path(&open));
    let linked = s
        .post(
            &contacts,
            tok,
            json!({"contact_id": c2, "role": "fleet manager"}),
        )
        .await
        .ok(201);
    assert_eq!(
        linked["items"],
        json!([{"contact_id": c1, "role": null}, {"contact_id": c2, "role": "fleet manager"}]),
        "{linked}"
    );
    s.post(&contacts, tok, json!({"contact_id": c2}))
        .await
        .problem(409, "already_linked");
    let blocked = contact_with(&s, tok, json!({"blocked": true})).await;
    s.post(&contacts, tok, json!({"contact_id": blocked}))
        .await
        .problem(422, "contact_blocked");
    s.post(&contacts, tok, json!({"contact_id": uuid::Uuid::now_v7()}))
        .await
        .problem(404, "not_found");
    assert_eq!(
        contact_ids_of(&s.get(&opp_path(&open), tok).await.ok(200)),
        vec![c1.clone(), c2.clone()]
    );
    s.delete(&contacts, tok, json!({"contact_id": c1}))
        .await
        .ok(204);
    s.delete(&contacts, tok, json!({"contact_id": c1}))
        .await
        .problem(404, "not_found");
    s.delete(&contacts, tok, json!({"contact_id": c2}))
        .await
        .problem(409, "last_contact");
    assert_eq!(
        contact_ids_of(&s.get(&opp_path(&open), tok).await.ok(200)),
        vec![c2.clone()]
    );

    // A contact's opportunities: open first.
    let of_c1 = s
        .get(&format!("/api/v1/contacts/{c1}/opportunities"), tok)
        .await
        .ok(200)
        .items();
    let ids: Vec<String> = of_c1.iter().map(|o| o.str("id")).collect();
    assert_eq!(ids.len(), 2, "{of_c1:?}");
    assert!(ids.contains(&id) && ids.contains(&won), "{ids:?}");
    let of_c2 = s
        .get(&format!("/api/v1/contacts/{c2}/opportunities"), tok)
        .await
        .ok(200)
        .ids();
    assert_eq!(of_c2, vec![open.clone()]);
    let newer_open = opp_for(&s, tok, &c1).await.str("id");
    let of_c1 = s
        .get(&format!("/api/v1/contacts/{c1}/opportunities"), tok)
        .await
        .ok(200)
        .items();
    assert_eq!(of_c1.len(), 3);
    assert_eq!(of_c1[0].str("id"), newer_open, "open first: {of_c1:?}");
    assert!(of_c1[1..].iter().all(|o| o["closed"] == true), "{of_c1:?}");
    s.get(
        &format!("/api/v1/contacts/{}/opportunities", uuid::Uuid::now_v7()),
        tok,
    )
    .await
    .problem(404, "not_found");

    // Listing: status filter and cursor pagination.
    let all = all_opp_ids(&s, tok).await;
    assert_eq!(all.len(), 4, "{all:?}");
    let lost_only = s
        .get(&format!("{OPPS}?status=lost"), tok)
        .await
        .ok(200)
        .ids();
    assert_eq!(lost_only, vec![id.clone()]);
    let mut paged = Vec::new();
    let mut p = format!("{OPPS}?limit=1");
    loop {
        let page = s.get(&p, tok).await.ok(200);
        let items = page.ids();
        assert!(items.len() <= 1, "{page}");
        paged.extend(items);
        match page["next_cursor"].as_str() {
            Some(c) => p = format!("{OPPS}?limit=1&cursor={c}"),
            None => break,
        }
    }
    let (mut a, mut b) = (paged.clone(), all.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "pages cover the list exactly once");
}

#[tokio::test]
async fn opportunities_permissions_follow_owner_and_establishment() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let est = t.establishment_id.as_str();
    let admin = t.admin_token.as_str();
    let other_est = s
        .post(
            "/api/v1/establishments",
            admin,
            json!({"company_id": t.company_id, "name": unique("Site")}),
        )
        .await
        .ok(201)
        .str("id");
    let alice = s.create_user(admin, &["salesperson"], Some(est)).await;
    let bob = s.create_user(admin, &["salesperson"], Some(est)).await;
    let reception = s.create_user(admin, &["receptionist"], Some(est)).await;
    let manager = s.create_user(admin, &["manager"], Some(est)).await;
    let c = contact(&s, admin).await;
    let v = vehicle(&s, admin).await.str("id");

    // Alice's own lead: assigned to her by default, never shows `expired`.
    let created = create_opp(
        &s,
        &alice.token,
        json!({"contacts": [{"contact_id": c}], "vehicle_ids": [v]}),
    )
    .await;
    let text = created.to_string();
    assert!(
        !text.contains("expired"),
        "a salesperson saw `expired`: {text}"
    );
    let o = &created;
    assert_eq!(o["assigned_user_id"], alice.id.as_str());
    let id = o.str("id");
    let path = opp_path(&id);

    // Every read a salesperson can make omits the key.
    let reads = [
        s.get(&path, &alice.token).await.ok(200),
        s.get(OPPS, &alice.token).await.ok(200),
        s.get(&format!("/api/v1/contacts/{c}/opportunities"), &alice.token)
            .await
            .ok(200),
        s.get(&format!("{VEHICLES}/{v}/opportunities"), &alice.token)
            .await
            .ok(200),
        s.patch(
            &path,
            &alice.token,
            json!({"customer_info": "Call after 5pm"}),
        )
        .await
        .ok(200),
        s.post(
            &format!("{path}/status"),
            &alice.token,
            json!({"status": "offer_sent"}),
        )
        .await
        .ok(200),
        s.post(
            &format!("{path}/assign"),
            &alice.token,
            json!({"user_id": alice.id}),
        )
        .await
        .ok(200),
    ];
    for r in &reads {
        assert!(
            !r.to_string().contains("\"expired\""),
            "a salesperson saw `expired`: {r}"
        );
    }
    assert_eq!(reads[1].ids(), vec![id.clone()]);
    assert_eq!(reads[2].ids(), vec![id.clone()]);
    assert_eq!(reads[3].ids(), vec![id.clone()]);
    s.patch(&path, &alice.token, json!({"expired": false}))
        .await
        .invalid("expired");

    // Bob sees none of Alice's leads.
    s.get(&path, &bob.token).await.problem(404, "not_found");
    assert!(!all_opp_ids(&s, &bob.token).await.contains(&id));
    s.patch(&path, &bob.token, json!({"customer_info": "mine"}))
        .await
        .problem(404, "not_found");
    s.post(
        &format!("{path}/status"),
        &bob.token,
        json!({"status": "taken_in_charge"}),
    )
    .await
    .problem(404, "not_found");
    s.post(
        &format!("{path}/assign"),
        &bob.token,
        json!({"user_id": bob.id}),
    )
    .await
    .problem(404, "not_found");
    s.post(
        &format!("{path}/contacts"),
        &bob.token,
        json!({"contact_id": contact(&s, admin).await}),
    )
    .await
    .problem(404, "not_found");
    s.delete(
        &format!("{path}/contacts"),
        &bob.token,
        json!({"contact_id": c}),
    )
    .await
    .problem(404, "not_found");
    let of_c = s
        .get(&format!("/api/v1/contacts/{c}/opportunities"), &bob.token)
        .await
        .ok(200)
        .ids();
    assert!(of_c.is_empty(), "{of_c:?}");
    let of_v = s
        .get(&format!("{VEHICLES}/{v}/opportunities"), &bob.token)
        .await
        .ok(200)
        .ids();
    assert!(of_v.is_empty(), "{of_v:?}");
    // Bob's own lead on the same contact does not reveal Alice's as "other open".
    let bobs = create_opp(&s, &bob.token, json!({"contacts": [{"contact_id": c}]})).await;
    assert_eq!(bobs["other_open_opportunities"], json!([]), "{bobs}");

    // A salesperson cannot create for, or hand a lead to, somebody else.
    s.post(
        OPPS,
        &alice.token,
        json!({"contacts": [{"contact_id": c}], "assigned_user_id": bob.id}),
    )
    .await
    .ok(403);
    s.post(
        &format!("{path}/assign"),
        &alice.token,
        json!({"user_id": bob.id}),
    )
    .await
    .ok(403);
    assert_eq!(
        s.get(&path, &alice.token).await.ok(200)["assigned_user_id"],
        alice.id.as_str()
    );
    s.post(&format!("{path}/assign"), &alice.token, json!({}))
        .await
        .invalid("user_id");

    // The receptionist reads the establishment's leads but writes none.
    s.get(&path, &reception.token).await.ok(200);
    assert!(all_opp_ids(&s, &reception.token).await.contains(&id));
    s.post(
        OPPS,
        &reception.token,
        json!({"contacts": [{"contact_id": c}]}),
    )
    .await
    .ok(403);
    s.patch(&path, &reception.token, json!({"customer_info": "x"}))
        .await
        .ok(403);
    s.post(
        &format!("{path}/status"),
        &reception.token,
        json!({"status": "new"}),
    )
    .await
    .ok(403);

    // The manager works the establishment's leads, without seeing `expired`.
    let m = s.get(&path, &manager.token).await.ok(200);
    assert!(m.get("expired").is_none(), "a manager saw `expired`: {m}");
    let moved = s
        .post(
            &format!("{path}/assign"),
            &manager.token,
            json!({"user_id": bob.id}),
        )
        .await
        .ok(200);
    assert_eq!(moved["assigned_user_id"], bob.id.as_str());
    assert_eq!(moved["establishment_id"], est);
    s.get(&path, &alice.token).await.problem(404, "not_found");
    assert!(!all_opp_ids(&s, &alice.token).await.contains(&id));
    s.get(&path, &bob.token).await.ok(200);
    // Moving it to another site would take it out of the manager's reach.
    {
        let other = other_est;
        s.post(
            &format!("{path}/assign"),
            &manager.token,
            json!({"establishment_id": other}),
        )
        .await
        .ok(403);
        // The admin can.
        let moved = s
            .post(
                &format!("{path}/assign"),
                admin,
                json!({"establishment_id": other}),
            )
            .await
            .ok(200);
        assert_eq!(moved["establishment_id"], other.as_str());
        assert_eq!(moved["expired"], false, "the admin sees the flag: {moved}");
    }

    // Expiry settings: manager reads, only the admin writes.
    s.get(EXPIRY, &manager.token).await.ok(200);
    s.put(
        EXPIRY,
        &manager.token,
        json!({"period_days": 30, "exempt_statuses": []}),
    )
    .await
    .ok(403);
    s.put(
        EXPIRY,
        &alice.token,
        json!({"period_days": 30, "exempt_statuses": []}),
    )
    .await
    .ok(403);
}

#[tokio::test]
async fn expiry_settings_defaults_validation_and_update() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    assert_eq!(
        s.get(EXPIRY, tok).await.ok(200),
        json!({"period_days": 56, "exempt_statuses": ["taken_in_charge", "sold_not_delivered", "long_term_follow_up"]})
    );
    for (body, field) in [
        (
            json!({"period_days": 0, "exempt_statuses": []}),
            "period_days",
        ),
        (
            json!({"period_days": 3651, "exempt_statuses": []}),
            "period_days",
        ),
        (
            json!({"period_days": -3, "exempt_statuses": []}),
            "period_days",
        ),
        (
            json!({"period_days": 7, "exempt_statuses": ["won"]}),
            "exempt_statuses[0]",
        ),
        (
            json!({"period_days": 7, "exempt_statuses": ["lost"]}),
            "exempt_statuses[0]",
        ),
        (
            json!({"period_days": 7, "exempt_statuses": ["bogus"]}),
            "exempt_statuses[0]",
        ),
        (
            json!({"period_days": 7, "exempt_statuses": ["new", "won"]}),
            "exempt_statuses[1]",
        ),
        (json!({"exempt_statuses": []}), "period_days"),
        (
            json!({"period_days": 7, "exempt_statuses": [], "x": 1}),
            "x",
        ),
    ] {
        s.put(EXPIRY, tok, body).await.invalid(field);
    }
    let salesperson = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    s.put(
        EXPIRY,
        &salesperson.token,
        json!({"period_days": 7, "exempt_statuses": []}),
    )
    .await
    .ok(403);
    let set = json!({"period_days": 14, "exempt_statuses": ["offer_sent"]});
    assert_eq!(s.put(EXPIRY, tok, set.clone()).await.ok(200), set);
    assert_eq!(s.get(EXPIRY, tok).await.ok(200), set);
    // One tenant's rule is not another's.
    let t2 = s.tenant("go").await;
    assert_eq!(
        s.get(EXPIRY, &t2.admin_token).await.ok(200)["period_days"],
        56
    );
}

#[tokio::test]
async fn expiry_rule_is_evaluated_at_several_dates() {
    // The periodic sweep stays out of the way: the test evaluates the rule at chosen dates.
    let s = TestServer::start_with(|cfg| cfg.expiry_sweep_secs = 3600).await;
    let db = forecourt_core::db::connect(&s.config.database_url())
        .await
        .unwrap();
    let t = s.tenant("go").await;
    let tenant = uuid::Uuid::parse_str(&t.tenant_id).unwrap();
    let tok = t.admin_token.as_str();
    let alice = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    let c = contact(&s, tok).await;

    let fresh = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": c}], "assigned_user_id": alice.id}),
    )
    .await
    .clone();
    let exempt = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": c}], "status": "taken_in_charge"}),
    )
    .await
    .clone();
    let won = opp_for(&s, tok, &c).await;
    let offer = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": c}], "status": "offer_sent"}),
    )
    .await
    .clone();
    s.post(
        &format!("{}/status", opp_path(&won.str("id"))),
        tok,
        json!({"status": "won"}),
    )
    .await
    .ok(200);
    let created = created_at(&fresh);
    let newest = created_at(&offer);
    let sweep = |at: DateTime<Utc>| {
        let db = db.clone();
        async move {
            forecourt_crm::expiry::service::sweep_tenant(&db, tenant, at)
                .await
                .unwrap()
        }
    };
    let expired = |o: &Value| {
        let path = opp_path(&o.str("id"));
        let s = &s;
        async move { s.get(&path, tok).await.ok(200)["expired"].clone() }
    };

    // Exactly eight weeks minus a minute after the earliest creation: nothing has expired.
    assert_eq!(
        sweep(created + Duration::days(56) - Duration::minutes(1)).await,
        0
    );
    for o in [&fresh, &exempt, &won, &offer] {
        assert_eq!(expired(o).await, false, "{o}");
    }

    // After 57 days the open, non-exempt ones are expired.
    let at = newest + Duration::days(57);
    assert_eq!(sweep(at).await, 2);
    assert_eq!(expired(&fresh).await, true);
    assert_eq!(expired(&offer).await, true);
    assert_eq!(expired(&exempt).await, false, "taken in charge is exempt");
    assert_eq!(
        expired(&won).await,
        false,
        "a won opportunity does not expire"
    );
    let listed = s
        .get(&format!("{OPPS}?status=new"), tok)
        .await
        .ok(200)
        .items();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["expired"], true, "{listed:?}");

    // The salesperson owning the expired lead never sees the key.
    for r in [
        s.get(&opp_path(&fresh.str("id")), &alice.token)
            .await
            .ok(200),
        s.get(OPPS, &alice.token).await.ok(200),
        s.get(&format!("/api/v1/contacts/{c}/opportunities"), &alice.token)
            .await
            .ok(200),
    ] {
        assert!(!r.to_string().contains("\"expired\""), "{r}");
    }
    // Nobody can set or clear it.
    for token in [tok, alice.token.as_str()] {
        s.patch(
            &opp_path(&fresh.str("id")),
            token,
            json!({"expired": false}),
        )
        .await
        .invalid("expired");
    }
    assert_eq!(expired(&fresh).await, true);

    // Exempt statuses stay unexpired much later.
    sweep(newest + Duration::days(100)).await;
    assert_eq!(expired(&exempt).await, false);
    assert_eq!(expired(&won).await, false);

    // A shorter period without exemptions expires even a lead taken in charge.
    s.put(
        EXPIRY,
        tok,
        json!({"period_days": 7, "exempt_statuses": []}),
    )
    .await
    .ok(200);
    sweep(created + Duration::days(7) - Duration::minutes(1)).await;
    assert_eq!(expired(&exempt).await, false, "not yet 7 days");
    assert_eq!(expired(&fresh).await, false, "re-evaluated: not yet 7 days");
    assert_eq!(sweep(newest + Duration::days(8)).await, 3);
    assert_eq!(expired(&exempt).await, true);
    assert_eq!(expired(&fresh).await, true);
    assert_eq!(expired(&won).await, false, "closed ones keep their flag");

    // The sweep is per tenant: another tenant's lead is untouched.
    let t2 = s.tenant("go").await;
    let c2 = contact(&s, &t2.admin_token).await;
    let other = opp_for(&s, &t2.admin_token, &c2).await;
    sweep(created_at(&other) + Duration::days(400)).await;
    assert_eq!(
        s.get(&opp_path(&other.str("id")), &t2.admin_token)
            .await
            .ok(200)["expired"],
        false
    );
    s.stop().await;
}

#[tokio::test]
async fn opportunities_follow_a_contact_merge() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let survivor = contact(&s, tok).await;
    let dup = contact(&s, tok).await;
    let own = opp_for(&s, tok, &survivor).await.str("id");
    let moved = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": dup, "role": "driver"}]}),
    )
    .await
    .str("id");
    let shared = create_opp(
        &s,
        tok,
        json!({"contacts": [{"contact_id": survivor}, {"contact_id": dup}]}),
    )
    .await
    .str("id");
    s.post(
        &format!("/api/v1/contacts/{survivor}/merge"),
        tok,
        json!({"duplicates": [dup]}),
    )
    .await
    .ok(200);
    let mut ids = s
        .get(&format!("/api/v1/contacts/{survivor}/opportunities"), tok)
        .await
        .ok(200)
        .ids();
    ids.sort();
    let mut want = vec![own, moved.clone(), shared.clone()];
    want.sort();
    assert_eq!(ids, want);
    let m = s.get(&opp_path(&moved), tok).await.ok(200);
    assert_eq!(
        m["contacts"],
        json!([{"contact_id": survivor, "role": "driver"}]),
        "the role follows: {m}"
    );
    let sh = s.get(&opp_path(&shared), tok).await.ok(200);
    assert_eq!(contact_ids_of(&sh), vec![survivor.clone()], "{sh}");
}

#[tokio::test]
async fn opportunities_and_vehicles_are_isolated_between_tenants() {
    let s = TestServer::start().await;
    let a = s.tenant("go").await;
    let b = s.tenant("expert").await;
    let (ta, tb) = (a.admin_token.as_str(), b.admin_token.as_str());
    let ca = contact(&s, ta).await;
    let va = vehicle(&s, ta).await;
    let va_id = va.str("id");
    let oa = create_opp(
        &s,
        ta,
        json!({"contacts": [{"contact_id": ca}], "vehicle_ids": [va_id]}),
    )
    .await
    .str("id");
    let cb = contact(&s, tb).await;
    let ob = opp_for(&s, tb, &cb).await.str("id");
    let pa = opp_path(&oa);

    let failures = s
        .unexpected(
            tb,
            vec![
                (forecourt_tests::Method::GET, pa.clone(), Value::Null),
                (
                    forecourt_tests::Method::PATCH,
                    pa.clone(),
                    json!({"customer_info": "stolen"}),
                ),
                (
                    forecourt_tests::Method::POST,
                    format!("{pa}/status"),
                    json!({"status": "lost", "reason": "sabotage"}),
                ),
                (
                    forecourt_tests::Method::POST,
                    format!("{pa}/assign"),
                    json!({"user_id": b.admin_user_id}),
                ),
                (
                    forecourt_tests::Method::POST,
                    format!("{pa}/assign"),
                    json!({"establishment_id": b.establishment_id}),
                ),
                (
                    forecourt_tests::Method::POST,
                    format!("{pa}/contacts"),
                    json!({"contact_id": cb}),
                ),
                (
                    forecourt_tests::Method::DELETE,
                    format!("{pa}/contacts"),
                    json!({"contact_id": ca}),
                ),
                (
                    forecourt_tests::Method::GET,
                    format!("{VEHICLES}/{va_id}"),
                    Value::Null,
                ),
                (
                    forecourt_tests::Method::GET,
                    format!("{VEHICLES}/{va_id}/opportunities"),
                    Value::Null,
                ),
                (
                    forecourt_tests::Method::GET,
                    format!("/api/v1/contacts/{ca}/opportunities"),
                    Value::Null,
                ),
                (
                    forecourt_tests::Method::POST,
                    OPPS.to_string(),
                    json!({"contacts": [{"contact_id": ca}]}),
                ),
                (
                    forecourt_tests::Method::POST,
                    format!("{}/contacts", opp_path(&ob)),
                    json!({"contact_id": ca}),
                ),
            ],
            |st, _| st == 404,
        )
        .await;
    assert!(failures.is_empty(), "not 404:\n{}", failures.join("\n"));

    // A's opportunity is unchanged.
    let still = s.get(&pa, ta).await.ok(200);
    assert_eq!(still["status"], "new");
    assert!(still["customer_info"].is_null());
    assert_eq!(still["assigned_user_id"], a.admin_user_id.as_str());
    assert_eq!(contact_ids_of(&still), vec![ca.clone()]);

    // B cannot point its lead at A's vehicle, user or establishment.
    s.patch(&opp_path(&ob), tb, json!({"vehicle_ids": [va_id]}))
        .await
        .invalid("vehicle_ids[0]");
    s.post(
        OPPS,
        tb,
        json!({"contacts": [{"contact_id": cb}], "vehicle_ids": [va_id]}),
    )
    .await
    .invalid("vehicle_ids[0]");
    s.post(
        &format!("{}/assign", opp_path(&ob)),
        tb,
        json!({"user_id": a.admin_user_id}),
    )
    .await
    .invalid("user_id");
    s.post(
        &format!("{}/assign", opp_path(&ob)),
        tb,
        json!({"establishment_id": a.establishment_id}),
    )
    .await
    .invalid("establishment_id");
    s.post(
        OPPS,
        tb,
        json!({"contacts": [{"contact_id": cb}], "assigned_user_id": a.admin_user_id}),
    )
    .await
    .invalid("assigned_user_id");

    // Lists never contain the other tenant's records.
    let b_opps = all_opp_ids(&s, tb).await;
    assert!(!b_opps.contains(&oa), "{b_opps:?}");
    assert!(b_opps.contains(&ob));
    let a_opps = all_opp_ids(&s, ta).await;
    assert_eq!(a_opps, vec![oa.clone()]);
    let b_vehicles = s.get(VEHICLES, tb).await.ok(200).ids();
    assert!(b_vehicles.is_empty(), "{b_vehicles:?}");
    // A VIN is unique per tenant only: B may stock the same car.
    let vb = s
        .post(
            VEHICLES,
            tb,
            json!({"vin": va.str("vin"), "make": "Opel", "model": "Corsa", "year": 2024, "price": 100}),
        )
        .await
        .ok(201);
    assert_ne!(vb.str("id"), va_id);
    assert_eq!(s.get(VEHICLES, tb).await.ok(200).ids(), vec![vb.str("id")]);
    assert_eq!(s.get(VEHICLES, ta).await.ok(200).ids(), vec![va_id.clone()]);
    let of_vb = s
        .get(&format!("{VEHICLES}/{}/opportunities", vb.str("id")), tb)
        .await
        .ok(200)
        .ids();
    assert!(of_vb.is_empty(), "{of_vb:?}");
    let of_va = s
        .get(&format!("{VEHICLES}/{va_id}/opportunities"), ta)
        .await
        .ok(200)
        .ids();
    assert_eq!(of_va, vec![oa]);
}

/// Concurrent writes on one opportunity keep its invariants: it closes once, a contact is
/// linked once (the others get 409, never 500), and it keeps at least one contact.
#[tokio::test]
async fn opportunities_concurrent_writes_keep_invariants() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let c1 = contact(&s, tok).await;
    let c2 = contact(&s, tok).await;
    let mut failures = Vec::new();
    for round in 0..8 {
        let id = opp_for(&s, tok, &c1).await.str("id");
        let status = format!("{}/status", opp_path(&id));
        let (a, b, c, d) = tokio::join!(
            s.post(&status, tok, json!({"status": "won"})),
            s.post(&status, tok, json!({"status": "lost", "reason": "r1"})),
            s.post(&status, tok, json!({"status": "won"})),
            s.post(&status, tok, json!({"status": "lost", "reason": "r2"})),
        );
        let codes = [a.0, b.0, c.0, d.0].map(|c| c.as_u16());
        if codes.iter().filter(|c| **c == 200).count() != 1 {
            failures.push(format!(
                "round {round}: closed {codes:?} times (want one 200)"
            ));
        }

        // On an open opportunity: the closed one above takes no new contact.
        let open = opp_for(&s, tok, &c1).await.str("id");
        let contacts = format!("{}/contacts", opp_path(&open));
        let body = || json!({"contact_id": c2});
        let (a, b, c, d) = tokio::join!(
            s.post(&contacts, tok, body()),
            s.post(&contacts, tok, body()),
            s.post(&contacts, tok, body()),
            s.post(&contacts, tok, body()),
        );
        let codes = [a.0, b.0, c.0, d.0].map(|c| c.as_u16());
        if codes.iter().filter(|c| **c == 201).count() != 1
            || codes.iter().any(|c| *c != 201 && *c != 409)
        {
            failures.push(format!(
                "round {round}: link answers {codes:?} (want one 201, 409s)"
            ));
        }

        let oid = create_opp(
            &s,
            tok,
            json!({"contacts": [{"contact_id": c1}, {"contact_id": c2}]}),
        )
        .await
        .str("id");
        let contacts = format!("{}/contacts", opp_path(&oid));
        let (a, b) = tokio::join!(
            s.delete(&contacts, tok, json!({"contact_id": c1})),
            s.delete(&contacts, tok, json!({"contact_id": c2})),
        );
        let left = s.get(&opp_path(&oid), tok).await.ok(200);
        if contact_ids_of(&left).is_empty() {
            failures.push(format!(
                "round {round}: unlink answers {:?} left no contact",
                [a.0.as_u16(), b.0.as_u16()]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn opportunities_patch_honours_if_match() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let c = contact(&s, &t.admin_token).await;
    let id = s
        .post(
            OPPS,
            &t.admin_token,
            json!({"contacts": [{"contact_id": c}]}),
        )
        .await
        .ok(201)
        .str("id");
    let read = s
        .send(
            forecourt_tests::Method::GET,
            &opp_path(&id),
            &t.admin_token,
            &Value::Null,
        )
        .await;
    let tag = read.header("etag").to_string();
    assert_eq!(tag, format!("\"{}\"", read.body["version"]));
    // Someone else adds a comment: the opportunity moved on.
    s.post(
        &format!("{}/comments", opp_path(&id)),
        &t.admin_token,
        json!({"text": "Called, no answer"}),
    )
    .await
    .ok(201);
    let stale = s
        .send_with(
            forecourt_tests::Method::PATCH,
            &opp_path(&id),
            &t.admin_token,
            &[("content-type", "application/json"), ("if-match", &tag)],
            br#"{"customer_info": "overwrites"}"#.to_vec(),
        )
        .await;
    assert_eq!(stale.assert_problem(412)["type"], "precondition_failed");
    let fresh = s
        .send(
            forecourt_tests::Method::GET,
            &opp_path(&id),
            &t.admin_token,
            &Value::Null,
        )
        .await;
    assert_eq!(
        fresh.body["customer_info"],
        Value::Null,
        "the stale write changed nothing"
    );
    let ok = s
        .send_with(
            forecourt_tests::Method::PATCH,
            &opp_path(&id),
            &t.admin_token,
            &[
                ("content-type", "application/json"),
                ("if-match", fresh.header("etag")),
            ],
            br#"{"customer_info": "Wants a 7-seater"}"#.to_vec(),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["customer_info"], "Wants a 7-seater");
    assert_ne!(ok.header("etag"), fresh.header("etag"));
}
