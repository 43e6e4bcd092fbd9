//! Issue 9, items 12 and 13: a closed opportunity takes only comments, documents and a
//! reopen; blocking and unblocking a contact need `contacts.blocked`.

use forecourt_tests::{Expect, Json, Method, Tenant, TestServer, unique, unique_email};
use serde_json::{Value, json};
use std::time::Duration;

const OPPS: &str = "/api/v1/opportunities";
const CONTACTS: &str = "/api/v1/contacts";

/// A customer with an email, a stock vehicle and an opportunity on it with an offer, a task
/// and a follow-up: (opportunity, vehicle, contact, customer email, task id, follow-up id).
struct Lead {
    opp: String,
    vehicle: String,
    contact: String,
    email: String,
    task: String,
    follow_up: String,
}

async fn lead(s: &TestServer, t: &Tenant, token: &str) -> Lead {
    let email = unique_email("customer");
    let contact = s
        .post(
            CONTACTS,
            token,
            json!({"kind": "person", "last_name": unique("Client"), "emails": [email]}),
        )
        .await
        .ok(201)
        .str("id");
    let tail = uuid::Uuid::now_v7().as_u128() as u64 % 100_000_000;
    let vehicle = s
        .post(
            "/api/v1/vehicles",
            &t.admin_token,
            json!({"vin": format!("W0L0XCF08{tail:08}"), "make": "Opel", "model": "Corsa", "year": 2025, "price": 2199000}),
        )
        .await
        .ok(201)
        .str("id");
    let opp = s
        .post(
            OPPS,
            token,
            json!({"contacts": [{"contact_id": contact}], "vehicle_ids": [vehicle]}),
        )
        .await
        .ok(201)
        .str("id");
    let add = |path: &str, body: Value| {
        let url = format!("{OPPS}/{opp}/{path}");
        async move { s.post(&url, token, body).await.ok(201).str("id") }
    };
    add(
        "offers",
        json!({"vehicle_id": vehicle, "price": 2199000, "discount": 100000, "valid_until": "2099-12-31"}),
    )
    .await;
    let task = add(
        "tasks",
        json!({"title": "Prepare delivery", "due_at": "2099-01-11T10:00:00Z", "assignee_id": t.admin_user_id}),
    )
    .await;
    let follow_up = add(
        "follow-ups",
        json!({"deadline": "2099-01-12T10:00:00Z", "reason": "Financing answer"}),
    )
    .await;
    Lead {
        opp,
        vehicle,
        contact,
        email,
        task,
        follow_up,
    }
}

/// Every change a closed opportunity must refuse, as (method, path, body).
fn refused_changes(
    l: &Lead,
    other_contact: &str,
    new_assignee: &str,
) -> Vec<(Method, String, Value)> {
    let at = |p: &str| format!("{OPPS}/{}{p}", l.opp);
    vec![
        (
            Method::POST,
            at("/offers"),
            json!({"vehicle_id": l.vehicle, "price": 1999000, "valid_until": "2099-12-31"}),
        ),
        (Method::POST, at("/purchase-order"), json!({})),
        (
            Method::POST,
            at("/tasks"),
            json!({"title": "Call back", "due_at": "2099-01-11T10:00:00Z", "assignee_id": new_assignee}),
        ),
        (
            Method::POST,
            at("/follow-ups"),
            json!({"deadline": "2099-02-12T10:00:00Z", "reason": "Check satisfaction"}),
        ),
        (
            Method::POST,
            at("/test-drives"),
            json!({"vehicle_id": l.vehicle, "scheduled_at": "2099-01-10T10:00:00Z", "driver_contact_id": l.contact}),
        ),
        (
            Method::POST,
            at("/trade-ins"),
            json!({"make": "Opel", "model": "Astra", "year": 2015, "valuation": 450000}),
        ),
        (
            Method::POST,
            at("/vehicle-requests"),
            json!({"interest": "buy", "make": "Opel", "model": "Mokka"}),
        ),
        (
            Method::POST,
            at("/assign"),
            json!({"user_id": new_assignee}),
        ),
        (
            Method::PATCH,
            at(""),
            json!({"customer_info": "Also wants winter tyres"}),
        ),
        (Method::PATCH, at(""), json!({"vehicle_ids": []})),
        (
            Method::PATCH,
            at(&format!("/tasks/{}", l.task)),
            json!({"done": true}),
        ),
        (
            Method::PATCH,
            at(&format!("/follow-ups/{}", l.follow_up)),
            json!({"outcome": "Reached the customer"}),
        ),
        (
            Method::POST,
            at("/contacts"),
            json!({"contact_id": other_contact}),
        ),
        (
            Method::DELETE,
            at("/contacts"),
            json!({"contact_id": l.contact}),
        ),
        (
            Method::POST,
            at("/status"),
            json!({"status": "lost", "reason": "changed mind"}),
        ),
    ]
}

async fn upload_text(s: &TestServer, token: &str, opp: &str) -> (u16, Value) {
    let r = s
        .send_with(
            Method::POST,
            &format!("{OPPS}/{opp}/documents"),
            token,
            &[
                ("content-type", "text/plain"),
                ("content-disposition", "attachment; filename=\"signed.txt\""),
            ],
            b"signed order".to_vec(),
        )
        .await;
    (r.status.as_u16(), r.body)
}

fn mails_to(s: &TestServer, to: &str) -> usize {
    s.outbox_files().iter().filter(|m| m.contains(to)).count()
}

fn actions_of(history: &Value) -> Vec<String> {
    history
        .items()
        .iter()
        .filter_map(|i| i["action"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_won_opportunity_takes_only_comments_documents_and_a_reopen() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let seller = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    let l = lead(&s, &t, tok).await;
    let other = s.create_contact(tok).await;
    let path = format!("{OPPS}/{}", l.opp);
    let won = s
        .post(&format!("{path}/status"), tok, json!({"status": "won"}))
        .await
        .ok(200);
    assert_eq!(won["closed"], true);

    // Every other change: 409 `opportunity_closed`, and nothing written.
    let refused = refused_changes(&l, &other, &seller.id);
    let failures = s
        .unexpected(tok, refused, |status, body| {
            status.as_u16() == 409 && body["type"] == "opportunity_closed"
        })
        .await;
    assert!(
        failures.is_empty(),
        "accepted on a won opportunity:\n{}",
        failures.join("\n")
    );
    let after = s.get(&path, tok).await.ok(200);
    assert_eq!(
        after["version"], won["version"],
        "a refused change bumped the version: {after}"
    );
    assert_eq!(after["status"], "won");
    assert_eq!(after["assigned_user_id"], json!(t.admin_user_id));
    assert_eq!(after["customer_info"], won["customer_info"]);
    assert_eq!(after["vehicle_ids"], json!([l.vehicle]));
    assert_eq!(
        after["contacts"].as_array().map(Vec::len),
        Some(1),
        "{after}"
    );
    for (kind, n) in [
        ("offers", 1),
        ("tasks", 1),
        ("follow-ups", 1),
        ("test-drives", 0),
        ("trade-ins", 0),
        ("vehicle-requests", 0),
    ] {
        let listed = s.get(&format!("{path}/{kind}"), tok).await.ok(200);
        assert_eq!(listed.items().len(), n, "{kind}: {listed}");
    }
    let task = &s.get(&format!("{path}/tasks"), tok).await.ok(200).items()[0];
    assert_eq!(task["done"], false, "{task}");
    let follow_up = &s
        .get(&format!("{path}/follow-ups"), tok)
        .await
        .ok(200)
        .items()[0];
    assert!(follow_up["outcome"].is_null(), "{follow_up}");
    let history = actions_of(&s.get(&format!("{path}/activity"), tok).await.ok(200));
    let count = |a: &str| history.iter().filter(|h| *h == a).count();
    for (action, n) in [
        ("offer_added", 1),
        ("task_added", 1),
        ("follow_up_added", 1),
        ("status_changed", 1),
        ("purchase_order_sent", 0),
        ("assigned", 0),
        ("updated", 0),
        ("task_updated", 0),
        ("follow_up_updated", 0),
        ("contact_linked", 0),
        ("contact_unlinked", 0),
        ("trade_in_added", 0),
        ("test_drive_added", 0),
        ("vehicle_request_added", 0),
    ] {
        assert_eq!(count(action), n, "{action} in {history:?}");
    }

    // Comments and documents are still taken.
    let comment = s
        .post(
            &format!("{path}/comments"),
            tok,
            json!({"text": "Delivered with a full tank"}),
        )
        .await
        .ok(201);
    assert_eq!(comment["text"], "Delivered with a full tank");
    let (status, doc) = upload_text(&s, tok, &l.opp).await;
    assert_eq!(status, 201, "{doc}");
    assert_eq!(doc["filename"], "signed.txt");
    let history = actions_of(&s.get(&format!("{path}/activity"), tok).await.ok(200));
    for action in ["comment_added", "document_added"] {
        assert!(
            history.iter().any(|h| h == action),
            "{action} in {history:?}"
        );
    }

    // A reopen is a status change back to an open status; then the lead page works again.
    let reopened = s
        .post(
            &format!("{path}/status"),
            tok,
            json!({"status": "offer_sent"}),
        )
        .await
        .ok(200);
    assert_eq!(reopened["status"], "offer_sent");
    assert_eq!(reopened["closed"], false);
    assert!(reopened["closed_at"].is_null(), "{reopened}");
    s.post(&format!("{path}/purchase-order"), tok, json!({}))
        .await
        .ok(202);
    s.wait_for_mail(&l.email).await;
    // Give a wrongly queued mail the time to land too, then count: only the accepted order
    // went out, and the refused reassignment mailed nobody.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails_to(&s, &l.email), 1, "one purchase order mail");
    assert_eq!(mails_to(&s, &seller.email), 0, "no assignment mail");
    s.post(
        &format!("{path}/assign"),
        tok,
        json!({"user_id": seller.id}),
    )
    .await
    .ok(200);
    s.wait_for_mail(&seller.email).await;
}

#[tokio::test]
async fn a_lost_opportunity_is_closed_too_and_its_owner_may_reopen_it() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let seller = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let desk = s
        .create_user(&t.admin_token, &["receptionist"], Some(&t.establishment_id))
        .await;
    let l = lead(&s, &t, &seller.token).await;
    let other = s.create_contact(&seller.token).await;
    let path = format!("{OPPS}/{}", l.opp);
    let lost = s
        .post(
            &format!("{path}/status"),
            &seller.token,
            json!({"status": "lost", "reason": "Bought elsewhere"}),
        )
        .await
        .ok(200);
    assert_eq!(lost["closed"], true);

    let failures = s
        .unexpected(
            &seller.token,
            refused_changes(&l, &other, &seller.id),
            |status, body| status.as_u16() == 409 && body["type"] == "opportunity_closed",
        )
        .await;
    assert!(
        failures.is_empty(),
        "accepted on a lost opportunity:\n{}",
        failures.join("\n")
    );
    s.post(
        &format!("{path}/status"),
        &seller.token,
        json!({"status": "won"}),
    )
    .await
    .problem(409, "opportunity_closed");
    s.post(
        &format!("{path}/comments"),
        &seller.token,
        json!({"text": "Customer may come back in spring"}),
    )
    .await
    .ok(201);

    // Reopening is a status change: whoever may not change the status may not reopen.
    s.post(
        &format!("{path}/status"),
        &desk.token,
        json!({"status": "new"}),
    )
    .await
    .problem(403, "forbidden");
    let reopened = s
        .post(
            &format!("{path}/status"),
            &seller.token,
            json!({"status": "long_term_follow_up"}),
        )
        .await
        .ok(200);
    assert_eq!(reopened["closed"], false);
    assert!(
        reopened["lost_reason"].is_null() && reopened["closed_at"].is_null(),
        "{reopened}"
    );
    s.post(
        &format!("{path}/trade-ins"),
        &seller.token,
        json!({"make": "Opel", "model": "Astra"}),
    )
    .await
    .ok(201);
    s.post(
        &format!("{path}/status"),
        &seller.token,
        json!({"status": "won"}),
    )
    .await
    .ok(200);
    s.post(
        &format!("{path}/offers"),
        &seller.token,
        json!({"vehicle_id": l.vehicle, "price": 1, "valid_until": "2099-12-31"}),
    )
    .await
    .problem(409, "opportunity_closed");
}

/// The body of a new person contact, with `extra` members.
fn person(extra: Value) -> Value {
    let mut body = json!({"kind": "person", "last_name": unique("Blocky"), "emails": [unique_email("blocky")]});
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    body
}

/// Asserts a 403 that names `contacts.blocked` and the `blocked` field.
#[track_caller]
fn names_the_permission(reply: (forecourt_tests::StatusCode, Value)) {
    let body = reply.problem(403, "forbidden");
    assert_eq!(body["permission"], "contacts.blocked", "{body}");
    assert_eq!(body["field"], "blocked", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("contacts.blocked")),
        "{body}"
    );
}

#[tokio::test]
async fn blocking_and_unblocking_need_contacts_blocked() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let admin = t.admin_token.as_str();
    let mgr = s
        .create_user(admin, &["manager"], Some(&t.establishment_id))
        .await;
    let sp = s
        .create_user(admin, &["salesperson"], Some(&t.establishment_id))
        .await;
    let objects = s
        .get("/api/v1/permissions/objects", admin)
        .await
        .ok(200)
        .items();
    let declared = objects.iter().find(|o| o["object"] == "contacts.blocked");
    assert!(
        declared.is_some_and(|o| o["module"] == "crm" && o["description"].is_string()),
        "{objects:?}"
    );

    // A manager's contact, blocked by the admin.
    let id = s
        .post(CONTACTS, &mgr.token, person(json!({})))
        .await
        .ok(201)
        .str("id");
    let path = format!("{CONTACTS}/{id}");
    let blocked = s
        .patch(&path, admin, json!({"blocked": true}))
        .await
        .ok(200);
    assert_eq!(blocked["blocked"], true);

    // The manager may write the contact, not lift the block; restating it (a client sending
    // back the contact it read) changes nothing and is allowed.
    names_the_permission(s.patch(&path, &mgr.token, json!({"blocked": false})).await);
    let restated = s
        .patch(&path, &mgr.token, json!({"blocked": true}))
        .await
        .ok(200);
    assert_eq!(restated["blocked"], true);
    names_the_permission(
        s.patch(
            &path,
            &mgr.token,
            json!({"blocked": false, "comments": "unblock me"}),
        )
        .await,
    );
    let read = s.get(&path, &mgr.token).await.ok(200);
    assert_eq!(read["blocked"], true);
    assert!(
        read["comments"].is_null(),
        "a refused PATCH changes nothing: {read}"
    );
    let edited = s
        .patch(&path, &mgr.token, json!({"comments": "Called back"}))
        .await
        .ok(200);
    assert_eq!(edited["comments"], "Called back");
    assert_eq!(edited["blocked"], true);

    // A salesperson on their own contact, and at creation.
    let own = s.post(CONTACTS, &sp.token, person(json!({}))).await.ok(201);
    assert_eq!(own["blocked"], false);
    names_the_permission(
        s.patch(
            &format!("{CONTACTS}/{}", own.str("id")),
            &sp.token,
            json!({"blocked": true}),
        )
        .await,
    );
    for token in [sp.token.as_str(), mgr.token.as_str()] {
        let name = unique("Refused");
        let body = person(json!({"last_name": name, "blocked": true}));
        names_the_permission(s.post(CONTACTS, token, body).await);
        let found = s.get(&format!("{CONTACTS}?q={name}"), admin).await.ok(200);
        assert!(
            found.items().is_empty(),
            "a refused creation stored {found}"
        );
        // Creating a contact explicitly not blocked needs no special right.
        let open = s
            .post(CONTACTS, token, person(json!({"blocked": false})))
            .await
            .ok(201);
        assert_eq!(open["blocked"], false);
    }

    // The admin may do both.
    let unblocked = s
        .patch(&path, admin, json!({"blocked": false}))
        .await
        .ok(200);
    assert_eq!(unblocked["blocked"], false);
    let created = s
        .post(CONTACTS, admin, person(json!({"blocked": true})))
        .await
        .ok(201);
    assert_eq!(created["blocked"], true);
}

#[tokio::test]
async fn a_delegated_contacts_blocked_grant_applies_within_its_scope() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let admin = t.admin_token.as_str();
    let mgr = s
        .create_user(admin, &["manager"], Some(&t.establishment_id))
        .await;
    let sp = s
        .create_user(admin, &["salesperson"], Some(&t.establishment_id))
        .await;
    let mine = s
        .post(CONTACTS, &mgr.token, person(json!({})))
        .await
        .ok(201)
        .str("id");
    // The salesperson's contact in the manager's establishment: the manager may write it.
    let theirs = s
        .post(
            CONTACTS,
            admin,
            person(json!({"assigned_user_id": sp.id, "establishment_id": t.establishment_id})),
        )
        .await
        .ok(201)
        .str("id");
    let (mine, theirs) = (format!("{CONTACTS}/{mine}"), format!("{CONTACTS}/{theirs}"));
    let grant = |scope: &str| json!({"subject": format!("user:{}", mgr.id), "object": "contacts.blocked", "action": "write", "scope": scope});

    // Own scope: the manager's own contacts only.
    s.post("/api/v1/permissions", admin, grant("own"))
        .await
        .ok(201);
    let b = s
        .patch(&mine, &mgr.token, json!({"blocked": true}))
        .await
        .ok(200);
    assert_eq!(b["blocked"], true);
    let b = s
        .patch(&mine, &mgr.token, json!({"blocked": false}))
        .await
        .ok(200);
    assert_eq!(b["blocked"], false);
    names_the_permission(s.patch(&theirs, &mgr.token, json!({"blocked": true})).await);
    s.patch(&theirs, &mgr.token, json!({"comments": "Prefers mornings"}))
        .await
        .ok(200);

    // Establishment scope: the establishment's contacts too.
    s.post("/api/v1/permissions", admin, grant("establishment"))
        .await
        .ok(201);
    let b = s
        .patch(&theirs, &mgr.token, json!({"blocked": true}))
        .await
        .ok(200);
    assert_eq!(b["blocked"], true);

    // Revoked: back to 403.
    for scope in ["own", "establishment"] {
        s.delete("/api/v1/permissions", admin, grant(scope))
            .await
            .ok(204);
    }
    names_the_permission(
        s.patch(&theirs, &mgr.token, json!({"blocked": false}))
            .await,
    );
    assert_eq!(s.get(&theirs, admin).await.ok(200)["blocked"], true);
}

#[tokio::test]
async fn a_merge_never_lifts_a_block() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let admin = t.admin_token.as_str();
    let mgr = s
        .create_user(admin, &["manager"], Some(&t.establishment_id))
        .await;
    let survivor = s
        .post(CONTACTS, &mgr.token, person(json!({})))
        .await
        .ok(201)
        .str("id");
    let duplicate = s
        .post(CONTACTS, &mgr.token, person(json!({})))
        .await
        .ok(201)
        .str("id");
    s.patch(
        &format!("{CONTACTS}/{duplicate}"),
        admin,
        json!({"blocked": true}),
    )
    .await
    .ok(200);
    // The manager may merge (write and delete in his establishment): the block survives.
    let merged = s
        .post(
            &format!("{CONTACTS}/{survivor}/merge"),
            &mgr.token,
            json!({"duplicates": [duplicate]}),
        )
        .await
        .ok(200);
    assert_eq!(merged["blocked"], true, "{merged}");
    s.get(&format!("{CONTACTS}/{duplicate}"), admin)
        .await
        .problem(404, "not_found");
    names_the_permission(
        s.patch(
            &format!("{CONTACTS}/{survivor}"),
            &mgr.token,
            json!({"blocked": false}),
        )
        .await,
    );
}
