//! The `statuses` module: each tenant's own statuses, their order, transitions and policy.

use forecourt_core::{
    ports::statuses::{Move, StatusEntity},
    status_history::{self, Cause, StatusMove},
    tenancy::TenantId,
};
use forecourt_tests::{Expect, Json, Method, Tenant, TestServer};
use serde_json::{Value, json};

const OPP: &str = "/api/v1/statuses?entity=opportunity";

fn at(id: &str) -> String {
    format!("/api/v1/statuses/{id}")
}

/// The tenant's opportunity statuses, in order.
async fn list(s: &TestServer, token: &str) -> Vec<Value> {
    s.get(OPP, token).await.ok(200).items()
}

/// The id of the tenant's opportunity status `key`.
async fn id_of(s: &TestServer, token: &str, key: &str) -> String {
    list(s, token)
        .await
        .into_iter()
        .find(|x| x["key"] == key)
        .unwrap_or_else(|| panic!("no status {key}"))
        .str("id")
}

fn new_status(key: &str) -> Value {
    json!({
        "key": key,
        "labels": {"fr": "Essai routier", "nl": "Proefrit", "en": "Test drive"},
        "kind": "open",
        "probability": 40,
        "colour": "#00AA00",
    })
}

async fn create(s: &TestServer, t: &Tenant, key: &str) -> Value {
    s.post(OPP, &t.admin_token, new_status(key)).await.ok(201)
}

/// A PATCH with an `If-Match` header.
async fn patch_if(
    s: &TestServer,
    token: &str,
    path: &str,
    tag: &str,
    body: Value,
) -> (u16, Value, String) {
    let r = s
        .send_with(
            Method::PATCH,
            path,
            token,
            &[("content-type", "application/json"), ("if-match", tag)],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    let tag = r.header("etag").to_string();
    (r.status.as_u16(), r.body, tag)
}

#[tokio::test]
async fn every_tenant_starts_with_the_default_statuses_in_three_languages() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let opp = list(&s, &t.admin_token).await;
    let keys: Vec<&str> = opp.iter().map(|x| x["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "new",
            "taken_in_charge",
            "offer_sent",
            "sold_not_delivered",
            "long_term_follow_up",
            "won",
            "lost"
        ]
    );
    let by = |k: &str| opp.iter().find(|x| x["key"] == k).unwrap().clone();
    assert_eq!(
        by("taken_in_charge")["labels"],
        json!({"fr": "Pris en charge", "nl": "In behandeling", "en": "Taken in charge"})
    );
    assert_eq!(by("new")["initial"], true);
    assert_eq!(opp.iter().filter(|x| x["initial"] == true).count(), 1);
    let exempt: Vec<&str> = opp
        .iter()
        .filter(|x| x["exempt_from_expiry"] == true)
        .map(|x| x["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        exempt,
        [
            "taken_in_charge",
            "sold_not_delivered",
            "long_term_follow_up"
        ]
    );
    assert_eq!(
        (by("won")["kind"].clone(), by("won")["probability"].clone()),
        (json!("won"), json!(100))
    );
    assert_eq!(
        (
            by("lost")["kind"].clone(),
            by("lost")["probability"].clone()
        ),
        (json!("lost"), json!(0))
    );
    assert_eq!(by("sold_not_delivered")["reserves_vehicle"], true);
    for x in &opp {
        for lang in ["fr", "nl", "en"] {
            assert!(!x["labels"][lang].as_str().unwrap().is_empty(), "{x}");
        }
        assert!(x["archived_at"].is_null(), "{x}");
    }
    let prospects = s
        .get("/api/v1/statuses?entity=prospect", &t.admin_token)
        .await
        .ok(200)
        .items();
    let keys: Vec<(&str, &str)> = prospects
        .iter()
        .map(|x| (x["key"].as_str().unwrap(), x["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [
            ("new", "open"),
            ("contacted", "open"),
            ("qualified", "open"),
            ("converted", "won"),
            ("disqualified", "lost")
        ]
    );
    s.get("/api/v1/statuses?entity=project", &t.admin_token)
        .await
        .invalid("entity");

    // Everyone reads them; only admins change them.
    let sales = s.create_user(&t.admin_token, &["salesperson"], None).await;
    assert_eq!(list(&s, &sales.token).await.len(), 7);
    s.post(OPP, &sales.token, new_status("test_drive"))
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn statuses_are_created_changed_and_ordered_with_etags() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    let created = create(&s, &t, "test_drive").await;
    assert_eq!(created["position"], 7, "last: {created}");
    assert_eq!(created["colour"], "#00aa00");
    assert_eq!(created["initial"], false);
    let id = created.str("id");
    s.post(OPP, tok, new_status("test_drive"))
        .await
        .problem(409, "duplicate_key");

    // Every refusal names its field.
    let with = |k: &str, v: Value| {
        let mut b = new_status("other_one");
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("key", json!("Test Drive")), "key"),
        (
            with("labels", json!({"fr": "Essai", "en": "Test"})),
            "labels.nl",
        ),
        (
            with("labels", json!({"fr": " ", "nl": "a", "en": "b"})),
            "labels.fr",
        ),
        (with("probability", json!(120)), "probability"),
        (with("colour", json!("green")), "colour"),
        (
            json!({"key": "sold", "labels": {"fr": "a", "nl": "b", "en": "c"}, "kind": "won", "probability": 80}),
            "probability",
        ),
    ] {
        s.post(OPP, tok, body).await.invalid(field);
    }

    // Reading gives the ETag; a stale If-Match is 412 and changes nothing.
    let r = s.send(Method::GET, &at(&id), tok, &Value::Null).await;
    assert_eq!(r.header("etag"), "\"1\"");
    let (status, _, _) = patch_if(&s, tok, &at(&id), "\"7\"", json!({"probability": 60})).await;
    assert_eq!(status, 412);
    let (status, body, tag) = patch_if(
        &s,
        tok,
        &at(&id),
        "\"1\"",
        json!({"labels": {"en": "Test-drive booked"}, "probability": 60}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(tag, "\"2\"");
    assert_eq!(body["version"], 2);
    assert_eq!(
        body["labels"],
        json!({"fr": "Essai routier", "nl": "Proefrit", "en": "Test-drive booked"})
    );
    assert_eq!(body["probability"], 60);
    // The key never changes; a won or lost kind fixes the probability.
    s.patch(&at(&id), tok, json!({"key": "renamed"}))
        .await
        .invalid("key");
    let lost = s
        .patch(&at(&id), tok, json!({"kind": "lost"}))
        .await
        .ok(200);
    assert_eq!(
        (lost["kind"].clone(), lost["probability"].clone()),
        (json!("lost"), json!(0))
    );
    let won = s.patch(&at(&id), tok, json!({"kind": "won"})).await.ok(200);
    assert_eq!(won["probability"], 100);
    s.patch(&at(&id), tok, json!({"probability": 50}))
        .await
        .invalid("probability");
    s.patch(&at(&id), tok, json!({"kind": "open", "colour": null}))
        .await
        .ok(200);
    assert!(s.get(&at(&id), tok).await.ok(200)["colour"].is_null());

    // The order: every id once.
    let mut ids: Vec<String> = list(&s, tok).await.iter().map(|x| x.str("id")).collect();
    ids.reverse();
    let ordered = s
        .put(
            "/api/v1/statuses/order?entity=opportunity",
            tok,
            json!({"ids": ids}),
        )
        .await
        .ok(200)
        .items();
    assert_eq!(ordered.iter().map(|x| x.str("id")).collect::<Vec<_>>(), ids);
    assert_eq!(ordered[0]["key"], "test_drive");
    assert_eq!(ordered[0]["position"], 0);
    assert_eq!(list(&s, tok).await[0]["key"], "test_drive");
    s.put(
        "/api/v1/statuses/order?entity=opportunity",
        tok,
        json!({"ids": ids[1..]}),
    )
    .await
    .invalid("ids");
    let mut twice = ids.clone();
    twice[0] = ids[1].clone();
    s.put(
        "/api/v1/statuses/order?entity=opportunity",
        tok,
        json!({"ids": twice}),
    )
    .await
    .invalid("ids");
}

#[tokio::test]
async fn exactly_one_status_is_initial() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    let new = id_of(&s, tok, "new").await;
    let taken = id_of(&s, tok, "taken_in_charge").await;
    let moved = s
        .patch(&at(&taken), tok, json!({"initial": true}))
        .await
        .ok(200);
    assert_eq!(moved["initial"], true);
    let all = list(&s, tok).await;
    let initial: Vec<&str> = all
        .iter()
        .filter(|x| x["initial"] == true)
        .map(|x| x["key"].as_str().unwrap())
        .collect();
    assert_eq!(initial, ["taken_in_charge"]);
    // The previous one changed: its version moved on.
    assert_eq!(s.get(&at(&new), tok).await.ok(200)["version"], 2);
    s.patch(&at(&taken), tok, json!({"initial": false}))
        .await
        .invalid("initial");
    s.patch(&at(&taken), tok, json!({"kind": "won"}))
        .await
        .invalid("kind");
    let won = id_of(&s, tok, "won").await;
    s.patch(&at(&won), tok, json!({"initial": true}))
        .await
        .invalid("initial");
    // A status created initial takes it too.
    let mut b = new_status("first_call");
    b["initial"] = json!(true);
    s.post(OPP, tok, b).await.ok(201);
    let all = list(&s, tok).await;
    let initial: Vec<&str> = all
        .iter()
        .filter(|x| x["initial"] == true)
        .map(|x| x["key"].as_str().unwrap())
        .collect();
    assert_eq!(initial, ["first_call"]);
}

#[tokio::test]
async fn a_listed_policy_refuses_a_skip_and_names_the_allowed_statuses() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    let policy = "/api/v1/statuses/policy?entity=opportunity";
    let p = s.get(policy, tok).await.ok(200);
    assert_eq!(
        (p["mode"].clone(), p["from_any"].clone()),
        (json!("free"), json!([]))
    );

    let set = s
        .put(
            policy,
            tok,
            json!({"mode": "listed", "from_any": [{"to": "lost"}]}),
        )
        .await
        .ok(200);
    assert_eq!(set["mode"], "listed");
    assert_eq!(set["from_any"][0]["to"], "lost");
    assert_eq!(s.get(policy, tok).await.ok(200)["mode"], "listed");

    let new = id_of(&s, tok, "new").await;
    let path = format!("{}/transitions", at(&new));
    assert_eq!(s.get(&path, tok).await.ok(200), json!([]));
    let listed = s
        .put(
            &path,
            tok,
            json!([
                {"to": "taken_in_charge"},
                {"to": "offer_sent", "requires_reason": true, "required_fields": ["customer_info"], "roles": ["manager"]},
            ]),
        )
        .await
        .ok(200);
    assert_eq!(s.get(&path, tok).await.ok(200), listed);
    assert_eq!(listed[1]["to"], "offer_sent");
    assert_eq!(listed[1]["to_id"], id_of(&s, tok, "offer_sent").await);
    assert_eq!(listed[1]["required_fields"], json!(["customer_info"]));
    assert_eq!(listed[1]["roles"], json!(["manager"]));
    assert!(listed[0]["roles"].is_null());
    for (body, field) in [
        (json!([{"to": "nope"}]), "[0].to"),
        (json!([{"to": "won"}, {"to": "won"}]), "[1].to"),
        (json!([{"to": "new"}]), "[0].to"),
        (json!([{"to": "won", "roles": ["boss"]}]), "[0].roles[0]"),
        (
            json!([{"to": "won", "required_fields": ["offer_id"]}]),
            "[0].required_fields[0]",
        ),
    ] {
        s.put(&path, tok, body).await.invalid(field);
    }

    // The port decides on what was stored: a skip is refused with the allowed keys.
    let app = s.app();
    let tenant = TenantId::new(t.tenant_id.parse().unwrap());
    let admin = Some(t.admin_user_id.parse().unwrap());
    let mv = |from, to, user| Move {
        entity: StatusEntity::Opportunity,
        from,
        to,
        user,
    };
    let ask = |m| async move {
        app.ports
            .statuses
            .transition(app, (&app.db).into(), tenant, m)
            .await
    };
    let refused = ask(mv("new", "won", admin)).await.unwrap_err().problem();
    assert_eq!(refused.kind, "transition_not_allowed");
    // `offer_sent` is for managers: the admin is not one.
    assert_eq!(
        refused.extra.unwrap()["allowed"],
        json!(["taken_in_charge", "lost"])
    );
    assert!(ask(mv("new", "taken_in_charge", admin)).await.is_ok());
    let system = ask(mv("new", "offer_sent", None)).await.unwrap();
    assert!(system.requires_reason);
    assert_eq!(system.required_fields, ["customer_info"]);
    assert!(
        ask(mv("offer_sent", "lost", admin))
            .await
            .unwrap()
            .requires_reason
    );
    // Closing is final: no transition out of `lost` is listed.
    assert!(ask(mv("lost", "new", admin)).await.is_err());

    // Back to free: any move.
    s.put(policy, tok, json!({"mode": "free"})).await.ok(200);
    assert!(ask(mv("new", "won", admin)).await.is_ok());
    assert_eq!(
        s.get(policy, tok).await.ok(200)["from_any"][0]["to"],
        "lost"
    );
}

#[tokio::test]
async fn archive_and_delete_keep_what_was_used() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = &t.admin_token;
    let drive = create(&s, &t, "test_drive").await.str("id");
    let archive = |id: &str| format!("{}/archive", at(id));
    s.post(&archive(&drive), tok, json!({"reassign_to": "nope"}))
        .await
        .invalid("reassign_to");
    // Nothing is in it: archived without moving anything.
    let done = s.post(&archive(&drive), tok, json!({})).await.ok(200);
    assert_eq!(done["reassigned"], 0);
    assert!(done["status"]["archived_at"].is_string(), "{done}");
    assert!(s.get(&at(&drive), tok).await.ok(200)["archived_at"].is_string());
    s.post(&archive(&drive), tok, json!({}))
        .await
        .problem(409, "status_archived");
    let new = id_of(&s, tok, "new").await;
    s.post(&archive(&new), tok, json!({}))
        .await
        .problem(409, "status_initial");
    s.delete(&at(&new), tok, Value::Null)
        .await
        .problem(409, "status_initial");
    // An archived status is no target of a transition any more.
    s.put(
        &format!("{}/transitions", at(&new)),
        tok,
        json!([{"to": "test_drive"}]),
    )
    .await
    .invalid("[0].to");

    // Never used: deleted, with the transitions that led to it.
    let visit = create(&s, &t, "showroom_visit").await.str("id");
    let from_new = format!("{}/transitions", at(&new));
    s.put(
        &from_new,
        tok,
        json!([{"to": "showroom_visit"}, {"to": "won"}]),
    )
    .await
    .ok(200);
    s.delete(&at(&visit), tok, Value::Null).await.ok(204);
    let left = s.get(&from_new, tok).await.ok(200);
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
    assert_eq!(left[0]["to"], "won");
    s.delete(&at(&drive), tok, Value::Null).await.ok(204);
    s.get(&at(&drive), tok).await.problem(404, "not_found");

    // A status in some record's history is kept.
    let offer = id_of(&s, tok, "offer_sent").await;
    let tenant = TenantId::new(t.tenant_id.parse().unwrap());
    status_history::append(
        &s.app().db,
        &tenant,
        StatusEntity::Opportunity,
        None,
        chrono::Utc::now(),
        Cause::User,
        vec![StatusMove {
            record_id: uuid::Uuid::now_v7(),
            from: Some("new".into()),
            to: "offer_sent".into(),
            entered_from: None,
            reason: None,
            note: None,
        }],
    )
    .await
    .unwrap();
    s.delete(&at(&offer), tok, Value::Null)
        .await
        .problem(409, "status_has_history");
    s.get(&at(&offer), tok).await.ok(200);
}

#[tokio::test]
async fn another_tenants_status_is_not_found() {
    let s = TestServer::start().await;
    let a = s.tenant("expert").await;
    let b = s.tenant("expert").await;
    let theirs = id_of(&s, &b.admin_token, "offer_sent").await;
    let failures = s
        .unexpected(
            &a.admin_token,
            vec![
                (Method::GET, at(&theirs), Value::Null),
                (Method::PATCH, at(&theirs), json!({"probability": 10})),
                (Method::DELETE, at(&theirs), Value::Null),
                (Method::POST, format!("{}/archive", at(&theirs)), json!({})),
                (
                    Method::GET,
                    format!("{}/transitions", at(&theirs)),
                    Value::Null,
                ),
                (
                    Method::PUT,
                    format!("{}/transitions", at(&theirs)),
                    json!([{"to": "won"}]),
                ),
            ],
            |status, body| status.as_u16() == 404 && body["type"] == "not_found",
        )
        .await;
    assert!(failures.is_empty(), "{failures:#?}");
    // Nor can it be put in one's own order.
    let mut ids: Vec<String> = list(&s, &a.admin_token)
        .await
        .iter()
        .map(|x| x.str("id"))
        .collect();
    ids[0] = theirs.clone();
    s.put(
        "/api/v1/statuses/order?entity=opportunity",
        &a.admin_token,
        json!({"ids": ids}),
    )
    .await
    .invalid("ids");
    // And it is unchanged.
    let got = s.get(&at(&theirs), &b.admin_token).await.ok(200);
    assert_eq!(
        (got["version"].clone(), got["archived_at"].clone()),
        (json!(1), Value::Null)
    );
}

#[tokio::test]
async fn without_the_module_the_built_in_machine_answers() {
    let s = TestServer::start().await;
    let go = s.tenant("go").await;
    for path in [
        OPP.to_string(),
        "/api/v1/statuses/policy?entity=opportunity".into(),
        at(&uuid::Uuid::now_v7().to_string()),
    ] {
        let p = s
            .get(&path, &go.admin_token)
            .await
            .problem(403, "module_not_licensed");
        assert_eq!(p["module"], "statuses");
        assert_eq!(p["tiers"], json!(["expert"]));
    }
    let app = s.app();
    let of = |t: &Tenant| {
        let tenant = TenantId::new(t.tenant_id.parse().unwrap());
        async move {
            app.ports
                .statuses
                .of(app, (&app.db).into(), tenant, StatusEntity::Opportunity)
                .await
                .unwrap()
        }
    };
    // Go: the fixed set (rows have ids; the fixed set has none), although its rows exist.
    assert!(of(&go).await.0.iter().all(|f| f.id.is_none()));

    // Expert: its own set, until the module is switched off.
    let ex = s.tenant("expert").await;
    create(&s, &ex, "test_drive").await;
    let own = of(&ex).await;
    assert!(own.get("test_drive").is_some_and(|f| f.id.is_some()));
    let toggle = |on: bool| json!({"module": "statuses", "enabled": on});
    s.patch("/api/v1/settings/modules", &ex.admin_token, toggle(false))
        .await
        .ok(200);
    s.get(OPP, &ex.admin_token)
        .await
        .problem(403, "module_disabled");
    assert!(of(&ex).await.get("test_drive").is_none());
    s.patch("/api/v1/settings/modules", &ex.admin_token, toggle(true))
        .await
        .ok(200);
    assert!(of(&ex).await.get("test_drive").is_some());
}

#[tokio::test]
async fn the_port_answers_from_its_cache_and_sees_every_change() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let app = s.app();
    let tenant = TenantId::new(t.tenant_id.parse().unwrap());
    let of = || async {
        app.ports
            .statuses
            .of(app, (&app.db).into(), tenant, StatusEntity::Opportunity)
            .await
            .unwrap()
    };
    let first = of().await;
    assert_eq!(first.initial(), Some("new"));
    // Background work may run a statement meanwhile: the fewest of a few calls is the cost.
    let mut fewest = u64::MAX;
    for _ in 0..5 {
        let before = s.statements();
        assert_eq!(of().await, first);
        fewest = fewest.min(s.statements() - before);
    }
    assert_eq!(fewest, 0, "a cached answer reads no table");

    // Every write is seen by the next question.
    let id = create(&s, &t, "test_drive").await.str("id");
    assert!(of().await.get("test_drive").is_some());
    s.patch(
        &at(&id),
        &t.admin_token,
        json!({"exempt_from_expiry": true}),
    )
    .await
    .ok(200);
    assert!(of().await.exempt_keys().contains(&"test_drive".to_string()));
    s.post(&format!("{}/archive", at(&id)), &t.admin_token, json!({}))
        .await
        .ok(200);
    assert!(of().await.get("test_drive").is_some_and(|f| f.archived));
}

#[tokio::test]
async fn defaults_reach_tenants_onboarded_before_and_never_undo_an_admins_change() {
    use sea_orm::{ConnectionTrait, Statement};
    let a = TestServer::start().await;
    let t = a.tenant("expert").await;
    let tok = &t.admin_token;
    // The admin removes a default status nobody used.
    let follow_up = id_of(&a, tok, "long_term_follow_up").await;
    a.delete(&at(&follow_up), tok, Value::Null).await.ok(204);
    // As if the tenant had been onboarded before the prospect set existed.
    let db = &a.app().db;
    let tenant = uuid::Uuid::parse_str(&t.tenant_id).unwrap();
    for sql in [
        "DELETE FROM statuses WHERE tenant_id = $1 AND entity = 'prospect'",
        "DELETE FROM status_policies WHERE tenant_id = $1 AND entity = 'prospect'",
        "DELETE FROM permission_seeds WHERE tenant_id = $1 AND object = 'statuses:prospect'",
    ] {
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [tenant.into()],
        ))
        .await
        .unwrap();
    }
    let prospects = "/api/v1/statuses?entity=prospect";
    assert!(a.get(prospects, tok).await.ok(200).items().is_empty());

    // The next start gives the missing set, and only that one.
    let b = TestServer::start_sharing(&a, |_| {}).await;
    let keys: Vec<String> = b
        .get(prospects, tok)
        .await
        .ok(200)
        .items()
        .iter()
        .map(|x| x.str("key"))
        .collect();
    assert_eq!(
        keys,
        ["new", "contacted", "qualified", "converted", "disqualified"]
    );
    let opp = list(&b, tok).await;
    assert_eq!(opp.len(), 6, "the deleted status stays deleted");
    assert!(opp.iter().all(|x| x["key"] != "long_term_follow_up"));
}
