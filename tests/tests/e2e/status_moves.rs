//! Status changes of opportunities and prospects as the CRM takes them (issue 12): the status
//! history with the time spent in each status, prospect statuses, conversion by a move to a
//! won status or by `convert` (one path), the built-in machine's refusals, and tenant
//! isolation of the new paths. Tenant-defined statuses are in `statuses.rs`.

use chrono::{Duration, TimeZone, Utc};
use forecourt_tests::{Expect, Json, TestServer, unique, unique_email};
use serde_json::{Value, json};

const OPPS: &str = "/api/v1/opportunities";
const CONTACTS: &str = "/api/v1/contacts";

async fn prospect(s: &TestServer, token: &str) -> Value {
    s.post(
        CONTACTS,
        token,
        json!({"kind": "person", "first_name": "Ine", "last_name": unique("Prospect"),
               "emails": [unique_email("prospect")]}),
    )
    .await
    .ok(201)
}

async fn opportunity(s: &TestServer, token: &str) -> String {
    let contact = s.create_contact(token).await;
    s.post(OPPS, token, json!({"contacts": [{"contact_id": contact}]}))
        .await
        .ok(201)
        .str("id")
}

fn history(v: &Value) -> Vec<(Value, Value, Value)> {
    v.items()
        .iter()
        .map(|h| {
            (
                h["from"].clone(),
                h["to"].clone(),
                h["seconds_in_from"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_opportunity_keeps_every_status_it_was_in_with_the_time_spent_there() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let (s, clock) = TestServer::start_clocked(t0, |_| {}).await;
    let t = s.tenant("go").await;
    let tok = &t.admin_token;
    let id = opportunity(&s, tok).await;
    let path = format!("{OPPS}/{id}");

    clock.set(t0 + Duration::hours(5));
    s.post(
        &format!("{path}/status"),
        tok,
        json!({"status": "taken_in_charge", "note": "called back"}),
    )
    .await
    .ok(200);
    clock.set(t0 + Duration::days(2) + Duration::hours(5));
    let lost = s
        .post(&format!("{path}/status"), tok, json!({"status": "lost"}))
        .await
        .problem(422, "reason_required");
    assert_eq!(lost["field"], "reason", "{lost}");
    s.post(
        &format!("{path}/status"),
        tok,
        json!({"status": "lost", "reason": "bought elsewhere"}),
    )
    .await
    .ok(200);

    let h = s.get(&format!("{path}/status-history"), tok).await.ok(200);
    assert_eq!(
        history(&h),
        vec![
            (Value::Null, json!("new"), Value::Null),
            (json!("new"), json!("taken_in_charge"), json!(5 * 3600)),
            (
                json!("taken_in_charge"),
                json!("lost"),
                json!(2 * 24 * 3600)
            ),
        ],
        "{h}"
    );
    let items = h.items();
    assert_eq!(items[0]["cause"], "user");
    assert_eq!(items[0]["actor_user_id"], t.admin_user_id.as_str());
    assert_eq!(items[1]["note"], "called back");
    assert_eq!(items[2]["reason"], "bought elsewhere");

    // A refused move writes nothing: closing again is the closed rule's 409.
    s.post(&format!("{path}/status"), tok, json!({"status": "won"}))
        .await
        .problem(409, "opportunity_closed");
    let unknown = s
        .post(&format!("{path}/status"), tok, json!({"status": "sold"}))
        .await
        .problem(422, "unknown_status");
    assert_eq!(unknown["field"], "status");
    assert!(
        unknown["allowed"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("offer_sent"))),
        "{unknown}"
    );
    let again = s.get(&format!("{path}/status-history"), tok).await.ok(200);
    assert_eq!(again.items().len(), 3, "{again}");
}

#[tokio::test]
async fn a_prospect_moves_through_its_statuses_and_becomes_a_customer_when_won() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = &t.admin_token;
    let p = prospect(&s, tok).await;
    assert_eq!(p["lifecycle"], "prospect");
    assert_eq!(
        p["prospect_status"], "new",
        "a new prospect starts in `new`: {p}"
    );
    let path = format!("{CONTACTS}/{}", p.str("id"));

    let moved = s
        .post(
            &format!("{path}/status"),
            tok,
            json!({"status": "qualified", "note": "budget confirmed"}),
        )
        .await
        .ok(200);
    assert_eq!(moved["prospect_status"], "qualified");
    assert_eq!(moved["lifecycle"], "prospect");
    // Prospect lists filter by status.
    let other = prospect(&s, tok).await.str("id");
    let qualified = s
        .get(
            &format!("{CONTACTS}?lifecycle=prospect&prospect_status=qualified"),
            tok,
        )
        .await
        .ok(200)
        .ids();
    assert_eq!(qualified, vec![p.str("id")]);
    let new = s
        .get(&format!("{CONTACTS}?prospect_status=new"), tok)
        .await
        .ok(200)
        .ids();
    assert!(
        new.contains(&other) && !new.contains(&p.str("id")),
        "{new:?}"
    );
    s.get(&format!("{CONTACTS}?q=Ine&prospect_status=new"), tok)
        .await
        .invalid("prospect_status");
    s.post(
        &format!("{path}/status"),
        tok,
        json!({"status": "disqualified"}),
    )
    .await
    .problem(422, "reason_required");
    let won = s
        .post(
            &format!("{path}/status"),
            tok,
            json!({"status": "converted"}),
        )
        .await
        .ok(200);
    assert_eq!(won["lifecycle"], "customer", "{won}");
    assert_eq!(won["prospect_status"], "converted");
    // What a later read shows, with the version moved on once per move.
    let read = s.get(&path, tok).await.ok(200);
    assert_eq!(read["lifecycle"], "customer");
    assert_eq!(
        read["version"],
        p["version"].as_i64().unwrap() + 2,
        "{read}"
    );
    s.post(&format!("{path}/status"), tok, json!({"status": "new"}))
        .await
        .problem(409, "already_customer");
    s.post(&format!("{path}/convert"), tok, json!({}))
        .await
        .problem(409, "already_customer");

    let h = s.get(&format!("{path}/status-history"), tok).await.ok(200);
    let moves: Vec<(Value, Value)> = history(&h).into_iter().map(|(f, t, _)| (f, t)).collect();
    assert_eq!(
        moves,
        vec![
            (Value::Null, json!("new")),
            (json!("new"), json!("qualified")),
            (json!("qualified"), json!("converted")),
        ],
        "{h}"
    );
    assert_eq!(h.items()[1]["note"], "budget confirmed");
    let activity = s
        .get(
            &format!(
                "/api/v1/activity?entity_type=contact&entity_id={}",
                p.str("id")
            ),
            tok,
        )
        .await
        .ok(200);
    let actions: Vec<String> = activity.items().iter().map(|a| a.str("action")).collect();
    assert!(
        actions.contains(&"converted".to_string())
            && actions.contains(&"status_changed".to_string()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn convert_is_the_move_to_the_won_status() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = &t.admin_token;
    let p = prospect(&s, tok).await;
    let path = format!("{CONTACTS}/{}", p.str("id"));
    let c = s
        .post(&format!("{path}/convert"), tok, json!({}))
        .await
        .ok(200);
    assert_eq!(c["lifecycle"], "customer");
    assert_eq!(c["prospect_status"], "converted");
    let h = s.get(&format!("{path}/status-history"), tok).await.ok(200);
    assert_eq!(
        history(&h)
            .into_iter()
            .map(|(f, t, _)| (f, t))
            .collect::<Vec<_>>(),
        vec![
            (Value::Null, json!("new")),
            (json!("new"), json!("converted"))
        ],
        "{h}"
    );
    // A customer created as one has no prospect status.
    let customer = s
        .post(
            CONTACTS,
            tok,
            json!({"kind": "person", "last_name": unique("Customer"), "lifecycle": "customer",
                   "emails": [unique_email("customer")]}),
        )
        .await
        .ok(201);
    assert!(customer["prospect_status"].is_null(), "{customer}");
    // The status is changed only by a move: a body naming it is refused.
    s.patch(
        &format!("{CONTACTS}/{}", customer.str("id")),
        tok,
        json!({"prospect_status": "qualified"}),
    )
    .await
    .ok(422);
}

#[tokio::test]
async fn another_tenants_statuses_and_histories_answer_404() {
    let s = TestServer::start().await;
    let a = s.tenant("go").await;
    let b = s.tenant("go").await;
    let opp = opportunity(&s, &a.admin_token).await;
    let p = prospect(&s, &a.admin_token).await.str("id");
    for path in [
        format!("{OPPS}/{opp}/status-history"),
        format!("{CONTACTS}/{p}/status-history"),
    ] {
        s.get(&path, &b.admin_token).await.problem(404, "not_found");
    }
    s.post(
        &format!("{OPPS}/{opp}/status"),
        &b.admin_token,
        json!({"status": "offer_sent"}),
    )
    .await
    .problem(404, "not_found");
    s.post(
        &format!("{CONTACTS}/{p}/status"),
        &b.admin_token,
        json!({"status": "contacted"}),
    )
    .await
    .problem(404, "not_found");
    // Nothing moved.
    let o = s
        .get(&format!("{OPPS}/{opp}"), &a.admin_token)
        .await
        .ok(200);
    assert_eq!(o["status"], "new");
    let c = s
        .get(&format!("{CONTACTS}/{p}"), &a.admin_token)
        .await
        .ok(200);
    assert_eq!(c["prospect_status"], "new");
}

/// A stock vehicle with a fresh VIN; answers its id.
async fn stock_vehicle(s: &TestServer, token: &str) -> String {
    let digits: String = unique("v")
        .chars()
        .filter_map(|c| c.to_digit(16))
        .map(|d| char::from_digit(d % 10, 10).unwrap())
        .take(8)
        .collect();
    s.post(
        "/api/v1/vehicles",
        token,
        json!({"vin": format!("W0L0XCF08{digits}"), "make": "Opel", "model": "Mokka",
               "year": 2025, "price": 2899000}),
    )
    .await
    .ok(201)
    .str("id")
}

async fn offer(s: &TestServer, token: &str, opp: &str, vehicle: &str) {
    s.post(
        &format!("{OPPS}/{opp}/offers"),
        token,
        json!({"vehicle_id": vehicle, "price": 2899000, "valid_until": "2099-12-31"}),
    )
    .await
    .ok(201);
}

async fn vehicle_status(s: &TestServer, token: &str, id: &str) -> String {
    s.get(&format!("/api/v1/vehicles/{id}"), token)
        .await
        .ok(200)
        .str("status")
}

#[tokio::test]
async fn winning_makes_the_customer_a_customer_and_sells_the_offered_vehicle() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = &t.admin_token;
    let p = prospect(&s, tok).await.str("id");
    let opp = s
        .post(OPPS, tok, json!({"contacts": [{"contact_id": p}]}))
        .await
        .ok(201)
        .str("id");
    let (first, offered) = (stock_vehicle(&s, tok).await, stock_vehicle(&s, tok).await);
    offer(&s, tok, &opp, &first).await;
    offer(&s, tok, &opp, &offered).await;
    let status = format!("{OPPS}/{opp}/status");

    // `sold_not_delivered` reserves the vehicle of the latest offer; leaving frees it.
    s.post(&status, tok, json!({"status": "sold_not_delivered"}))
        .await
        .ok(200);
    assert_eq!(vehicle_status(&s, tok, &offered).await, "reserved");
    assert_eq!(vehicle_status(&s, tok, &first).await, "in_stock");
    s.post(&status, tok, json!({"status": "offer_sent"}))
        .await
        .ok(200);
    assert_eq!(vehicle_status(&s, tok, &offered).await, "in_stock");

    // Another opportunity holding the same vehicle keeps it reserved when this one leaves.
    let other = opportunity(&s, tok).await;
    offer(&s, tok, &other, &offered).await;
    s.post(
        &format!("{OPPS}/{other}/status"),
        tok,
        json!({"status": "sold_not_delivered"}),
    )
    .await
    .ok(200);
    s.post(&status, tok, json!({"status": "sold_not_delivered"}))
        .await
        .ok(200);
    s.post(&status, tok, json!({"status": "offer_sent"}))
        .await
        .ok(200);
    assert_eq!(
        vehicle_status(&s, tok, &offered).await,
        "reserved",
        "still held by the other opportunity"
    );

    // The sale: the customer converts and the vehicle is sold, each in its own history.
    s.post(&status, tok, json!({"status": "won"})).await.ok(200);
    assert_eq!(vehicle_status(&s, tok, &offered).await, "sold");
    let c = s.get(&format!("{CONTACTS}/{p}"), tok).await.ok(200);
    assert_eq!(c["lifecycle"], "customer", "{c}");
    assert_eq!(c["prospect_status"], "converted");
    let h = s
        .get(&format!("{CONTACTS}/{p}/status-history"), tok)
        .await
        .ok(200);
    let last = h.items().last().cloned().unwrap();
    assert_eq!(
        (last["from"].clone(), last["to"].clone()),
        (json!("new"), json!("converted"))
    );
    assert!(last.str("reason").contains(&opp), "{last}");
    let vehicle_log = s
        .get(
            &format!("/api/v1/activity?entity_type=vehicle&entity_id={offered}"),
            tok,
        )
        .await
        .ok(200);
    let moves: Vec<Value> = vehicle_log
        .items()
        .iter()
        .filter(|a| a["action"] == "status_changed")
        .map(|a| a["changes"]["status"]["to"].clone())
        .collect();
    assert!(moves.contains(&json!("sold")), "{vehicle_log}");
}

fn row(report: &Value, key: &str) -> Value {
    report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {report}"))
        .iter()
        .find(|r| r["key"] == key)
        .cloned()
        .unwrap_or_else(|| panic!("no row {key} in {report}"))
}

#[tokio::test]
async fn the_pipeline_report_counts_entries_time_in_status_and_conversion_within_reach() {
    let t0 = Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap();
    let (s, clock) = TestServer::start_clocked(t0, |_| {}).await;
    let t = s.tenant("go").await;
    let other = s.tenant("go").await;
    let tok = &t.admin_token;
    let seller = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    let ids = [
        opportunity(&s, tok).await,
        opportunity(&s, tok).await,
        opportunity(&s, tok).await,
    ];
    opportunity(&s, &other.admin_token).await;
    let go = |id: &str, to: &str| {
        let (s, tok, id, to) = (&s, tok.clone(), id.to_string(), to.to_string());
        async move {
            let mut body = json!({"status": to});
            if to == "lost" {
                body["reason"] = json!("no budget");
            }
            s.post(&format!("{OPPS}/{id}/status"), &tok, body)
                .await
                .ok(200);
        }
    };
    // Two leave `new` after 1 and 3 hours; one of them is taken in charge, then won a day on.
    clock.set(t0 + Duration::hours(1));
    go(&ids[0], "taken_in_charge").await;
    clock.set(t0 + Duration::hours(3));
    go(&ids[1], "lost").await;
    clock.set(t0 + Duration::hours(25));
    go(&ids[0], "won").await;

    let path = "/api/v1/reports/pipeline?from=2026-05-01&to=2026-05-31";
    let r = s.get(path, tok).await.ok(200);
    let new = row(&r, "new");
    assert_eq!(new["entered"], 3, "{r}");
    assert_eq!(new["current"], 1);
    assert_eq!(new["left"], 2);
    assert_eq!(new["average_seconds"], 2 * 3600);
    assert_eq!(new["median_seconds"], 2 * 3600);
    assert_eq!(new["next_key"], "taken_in_charge");
    assert_eq!(new["converted_to_next"], 1);
    let rate = new["conversion_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{new}");
    let taken = row(&r, "taken_in_charge");
    assert_eq!(
        (taken["entered"].clone(), taken["median_seconds"].clone()),
        (json!(1), json!(24 * 3600))
    );
    assert_eq!(row(&r, "won")["entered"], 1);
    assert_eq!(row(&r, "lost")["current"], 1);

    let kinds = s.get(&format!("{path}&group_by=kind"), tok).await.ok(200);
    assert_eq!(row(&kinds, "open")["current"], 1, "{kinds}");
    assert_eq!(row(&kinds, "won")["current"], 1);
    assert_eq!(row(&kinds, "lost")["current"], 1);

    // Outside the period nothing entered; another tenant and an own-scope salesperson with no
    // opportunity of their own see none of these.
    let before = s
        .get("/api/v1/reports/pipeline?to=2026-04-30", tok)
        .await
        .ok(200);
    assert_eq!(row(&before, "new")["entered"], 0, "{before}");
    // Sessions idle for a day have lapsed: log in again.
    let other_token = s.login(&other.admin_email, &other.admin_password).await;
    let seller_token = s.login(&seller.email, &seller.password).await;
    let theirs = s.get(path, &other_token).await.ok(200);
    assert_eq!(row(&theirs, "new")["entered"], 1, "{theirs}");
    let own = s.get(path, &seller_token).await.ok(200);
    assert_eq!(row(&own, "new")["entered"], 0, "{own}");
    assert_eq!(row(&own, "won")["current"], 0);

    s.get("/api/v1/reports/pipeline?entity=vehicle", tok)
        .await
        .invalid("entity");
    s.get("/api/v1/reports/pipeline?group_by=week", tok)
        .await
        .invalid("group_by");
    s.get("/api/v1/reports/pipeline?from=01/05/2026", tok)
        .await
        .invalid("from");
    let prospects = s
        .get("/api/v1/reports/pipeline?entity=prospect", tok)
        .await
        .ok(200);
    // The three customers were created as prospects; the won opportunity's converted.
    let new = row(&prospects, "new");
    assert_eq!(
        (new["entered"].clone(), new["current"].clone()),
        (json!(3), json!(2)),
        "{prospects}"
    );
    assert_eq!(row(&prospects, "converted")["entered"], 1);
    assert!(row(&prospects, "converted")["next_key"].is_null());
}

const STATUSES: &str = "/api/v1/statuses";

/// Creates a status of `entity` (admin token); answers its id.
async fn custom_status(s: &TestServer, token: &str, entity: &str, body: Value) -> String {
    let mut b = json!({"labels": {"fr": "Essai", "nl": "Proefrit", "en": "Test drive"},
                       "kind": "open", "probability": 40});
    for (k, v) in body.as_object().unwrap() {
        b[k] = v.clone();
    }
    s.post(&format!("{STATUSES}?entity={entity}"), token, b)
        .await
        .ok(201)
        .str("id")
}

async fn status_id(s: &TestServer, token: &str, entity: &str, key: &str) -> String {
    s.get(&format!("{STATUSES}?entity={entity}"), token)
        .await
        .ok(200)
        .items()
        .into_iter()
        .find(|x| x["key"] == key)
        .unwrap_or_else(|| panic!("no status {key}"))
        .str("id")
}

#[tokio::test]
async fn a_listed_policy_rules_opportunity_moves_with_reasons_and_required_fields() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    custom_status(&s, tok, "opportunity", json!({"key": "test_drive"})).await;
    let new = status_id(&s, tok, "opportunity", "new").await;
    let drive = status_id(&s, tok, "opportunity", "test_drive").await;
    s.put(
        &format!("{STATUSES}/policy?entity=opportunity"),
        tok,
        json!({"mode": "listed"}),
    )
    .await
    .ok(200);
    s.put(
        &format!("{STATUSES}/{new}/transitions"),
        tok,
        json!([{"to": "test_drive"}, {"to": "lost"}]),
    )
    .await
    .ok(200);
    s.put(
        &format!("{STATUSES}/{drive}/transitions"),
        tok,
        json!([{"to": "offer_sent", "requires_reason": true, "required_fields": ["customer_info"]}]),
    )
    .await
    .ok(200);
    let id = opportunity(&s, tok).await;
    let status = format!("{OPPS}/{id}/status");

    let skip = s
        .post(&status, tok, json!({"status": "offer_sent"}))
        .await
        .problem(422, "transition_not_allowed");
    let mut allowed: Vec<String> = skip["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    allowed.sort();
    assert_eq!(allowed, ["lost", "test_drive"], "{skip}");
    s.post(&status, tok, json!({"status": "test_drive"}))
        .await
        .ok(200);
    s.post(&status, tok, json!({"status": "offer_sent"}))
        .await
        .problem(422, "reason_required");
    let missing = s
        .post(
            &status,
            tok,
            json!({"status": "offer_sent", "reason": "drove it, liked it"}),
        )
        .await
        .problem(422, "required_fields_missing");
    assert_eq!(missing["fields"], json!(["customer_info"]), "{missing}");
    assert_eq!(missing["field"], "customer_info");
    s.patch(
        &format!("{OPPS}/{id}"),
        tok,
        json!({"customer_info": "Wants the Astra in grey"}),
    )
    .await
    .ok(200);
    let sent = s
        .post(
            &status,
            tok,
            json!({"status": "offer_sent", "reason": "drove it, liked it"}),
        )
        .await
        .ok(200);
    assert_eq!(sent["status"], "offer_sent");
    let h = s
        .get(&format!("{OPPS}/{id}/status-history"), tok)
        .await
        .ok(200);
    let last = h.items().last().cloned().unwrap();
    assert_eq!(last["reason"], "drove it, liked it", "{h}");

    // A Go tenant keeps the built-in machine and has no /statuses.
    let go = s.tenant("go").await;
    s.get(&format!("{STATUSES}?entity=opportunity"), &go.admin_token)
        .await
        .problem(403, "module_not_licensed");
    let go_opp = opportunity(&s, &go.admin_token).await;
    s.post(
        &format!("{OPPS}/{go_opp}/status"),
        &go.admin_token,
        json!({"status": "test_drive"}),
    )
    .await
    .problem(422, "unknown_status");
}

#[tokio::test]
async fn archiving_a_status_in_use_moves_its_records_into_their_history() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    let drive = custom_status(&s, tok, "opportunity", json!({"key": "test_drive"})).await;
    let id = opportunity(&s, tok).await;
    s.post(
        &format!("{OPPS}/{id}/status"),
        tok,
        json!({"status": "test_drive"}),
    )
    .await
    .ok(200);
    let in_use = s
        .post(&format!("{STATUSES}/{drive}/archive"), tok, json!({}))
        .await
        .problem(409, "status_in_use");
    assert_eq!(in_use["count"], 1, "{in_use}");
    // Its records would be closed without being closed: the kind stays while they are in it.
    s.patch(&format!("{STATUSES}/{drive}"), tok, json!({"kind": "won"}))
        .await
        .problem(409, "status_in_use");
    s.patch(
        &format!("{STATUSES}/{drive}"),
        tok,
        json!({"probability": 55}),
    )
    .await
    .ok(200);
    let done = s
        .post(
            &format!("{STATUSES}/{drive}/archive"),
            tok,
            json!({"reassign_to": "offer_sent"}),
        )
        .await
        .ok(200);
    assert_eq!(done["reassigned"], 1, "{done}");
    let o = s.get(&format!("{OPPS}/{id}"), tok).await.ok(200);
    assert_eq!(o["status"], "offer_sent", "nothing lost: {o}");
    let h = s
        .get(&format!("{OPPS}/{id}/status-history"), tok)
        .await
        .ok(200);
    let last = h.items().last().cloned().unwrap();
    assert_eq!(
        (
            last["from"].clone(),
            last["to"].clone(),
            last["cause"].clone()
        ),
        (json!("test_drive"), json!("offer_sent"), json!("archive")),
        "{h}"
    );
    assert_eq!(last["actor_user_id"], t.admin_user_id.as_str());
    // An archived status takes no record; one with history cannot be deleted.
    s.post(
        &format!("{OPPS}/{id}/status"),
        tok,
        json!({"status": "test_drive"}),
    )
    .await
    .problem(422, "unknown_status");
    s.delete(&format!("{STATUSES}/{drive}"), tok, Value::Null)
        .await
        .problem(409, "status_has_history");

    // Prospects too.
    let visited = custom_status(&s, tok, "prospect", json!({"key": "visited"})).await;
    let p = prospect(&s, tok).await.str("id");
    s.post(
        &format!("{CONTACTS}/{p}/status"),
        tok,
        json!({"status": "visited"}),
    )
    .await
    .ok(200);
    s.post(
        &format!("{STATUSES}/{visited}/archive"),
        tok,
        json!({"reassign_to": "qualified"}),
    )
    .await
    .ok(200);
    let c = s.get(&format!("{CONTACTS}/{p}"), tok).await.ok(200);
    assert_eq!(c["prospect_status"], "qualified", "{c}");
    assert_eq!(c["lifecycle"], "prospect");
}

#[tokio::test]
async fn renaming_a_label_changes_no_pipeline_figure() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    for to in ["taken_in_charge", "offer_sent"] {
        let id = opportunity(&s, tok).await;
        s.post(&format!("{OPPS}/{id}/status"), tok, json!({"status": to}))
            .await
            .ok(200);
    }
    let before = s.get("/api/v1/reports/pipeline", tok).await.ok(200);
    let taken = status_id(&s, tok, "opportunity", "taken_in_charge").await;
    assert_eq!(row(&before, "taken_in_charge")["status_id"], taken.as_str());
    s.patch(
        &format!("{STATUSES}/{taken}"),
        tok,
        json!({"labels": {"fr": "Suivi", "nl": "Opvolging", "en": "Followed up"}}),
    )
    .await
    .ok(200);
    let after = s.get("/api/v1/reports/pipeline", tok).await.ok(200);
    assert_eq!(before, after);
    assert_eq!(row(&after, "taken_in_charge")["entered"], 1);
}

#[tokio::test]
async fn the_expiry_rule_follows_the_tenants_exempt_flags() {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    let (s, clock) = TestServer::start_clocked(t0, |_| {}).await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    custom_status(
        &s,
        tok,
        "opportunity",
        json!({"key": "awaiting_delivery", "exempt_from_expiry": true}),
    )
    .await;
    let settings = s.get("/api/v1/settings/expiry", tok).await.ok(200);
    assert!(
        settings["exempt_statuses"]
            .as_array()
            .unwrap()
            .contains(&json!("awaiting_delivery")),
        "a view of the flags: {settings}"
    );
    let (waiting, offered) = (opportunity(&s, tok).await, opportunity(&s, tok).await);
    for (id, to) in [(&waiting, "awaiting_delivery"), (&offered, "offer_sent")] {
        s.post(&format!("{OPPS}/{id}/status"), tok, json!({"status": to}))
            .await
            .ok(200);
    }
    let later = t0 + Duration::days(70);
    clock.set(later);
    forecourt_crm::expiry::service::sweep_all(s.app(), "test-node", later)
        .await
        .unwrap();
    let tok = s.login(&t.admin_email, &t.admin_password).await;
    let expired = |v: Value| v["expired"].clone();
    assert_eq!(
        expired(s.get(&format!("{OPPS}/{waiting}"), &tok).await.ok(200)),
        json!(false)
    );
    assert_eq!(
        expired(s.get(&format!("{OPPS}/{offered}"), &tok).await.ok(200)),
        json!(true)
    );
    // Setting the rule's list sets the flags.
    s.put(
        "/api/v1/settings/expiry",
        &tok,
        json!({"period_days": 56, "exempt_statuses": ["offer_sent"]}),
    )
    .await
    .ok(200);
    let flags: Vec<(String, bool)> = s
        .get(&format!("{STATUSES}?entity=opportunity"), &tok)
        .await
        .ok(200)
        .items()
        .iter()
        .map(|x| (x.str("key"), x["exempt_from_expiry"].as_bool().unwrap()))
        .filter(|(_, e)| *e)
        .collect();
    assert_eq!(flags, vec![("offer_sent".to_string(), true)]);
}
