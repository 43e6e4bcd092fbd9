//! Contacts: creation and validation, ETags, conversion, duplicates, merge, permissions and
//! tenant isolation.

use chrono::{Duration, Utc};
use forecourt_tests::{Expect, Json, Method, Reply, TestServer, unique, unique_email};
use serde_json::{Value, json};

/// Sends `body` with an `If-Match` header (the harness has no helper for custom headers).
async fn send_if_match(
    s: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    if_match: &str,
    body: &Value,
) -> Reply {
    let resp = s
        .client
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(token)
        .header("if-match", if_match)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A person reachable by a fresh email.
fn person(first: &str, last: &str) -> Value {
    json!({"kind": "person", "first_name": first, "last_name": last, "emails": [unique_email("p")]})
}

/// A company reachable by a fresh email.
fn company(name: &str) -> Value {
    json!({"kind": "company", "company_name": name, "emails": [unique_email("c")]})
}

/// Creates a contact and returns it.
async fn create(s: &TestServer, token: &str, body: Value) -> Value {
    s.post("/api/v1/contacts", token, body).await.ok(201)
}

fn contact_path(id: &str) -> String {
    format!("/api/v1/contacts/{id}")
}

/// Every contact id the caller can list, following the cursor.
async fn all_ids(s: &TestServer, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = "/api/v1/contacts?limit=100".to_string();
    loop {
        let page = s.get(&path, token).await.ok(200);
        ids.extend(page.ids());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/contacts?limit=100&cursor={c}"),
            None => return ids,
        }
    }
}

/// The actions of a contact's activity log.
async fn activity_actions(s: &TestServer, token: &str, id: &str) -> Vec<String> {
    let path = format!("/api/v1/activity?entity_type=contact&entity_id={id}");
    s.get(&path, token)
        .await
        .ok(200)
        .items()
        .iter()
        .map(|i| i.str("action"))
        .collect()
}

#[tokio::test]
async fn contacts_create_normalises_and_reads_back() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let birth = "1990-05-17";
    let body = json!({
        "kind": "person",
        "title": "Mr",
        "first_name": "Gérard",
        "last_name": "Ménard",
        "emails": ["Gerard.Menard@Example.TEST"],
        "phones": ["0470 12 34 56"],
        "addresses": [{"type": "billing", "street": "Rue Haute 1", "postal_code": "1000", "city": "Bruxelles"}],
        "vat_rate": 21.0,
        "position": "Buyer",
        "birth_date": birth,
        "groups": ["vip"],
        "comments": "Prefers mornings",
    });
    let reply = s
        .send(Method::POST, "/api/v1/contacts", &t.admin_token, &body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("etag"), "\"1\"");
    let c = reply.body;
    assert_eq!(c["kind"], "person");
    assert_eq!(c["title"], "Mr");
    assert_eq!(c["first_name"], "Gérard");
    assert_eq!(c["last_name"], "Ménard");
    assert_eq!(c["display_name"], "Gérard Ménard");
    assert_eq!(c["emails"], json!(["gerard.menard@example.test"]));
    assert_eq!(c["phones"], json!(["+32470123456"]));
    assert_eq!(
        c["addresses"],
        json!([{"type": "billing", "default": true, "street": "Rue Haute 1", "postal_code": "1000", "city": "Bruxelles", "country": "BE"}])
    );
    assert_eq!(c["vat_rate"], 21.0);
    assert_eq!(c["position"], "Buyer");
    assert_eq!(c["birth_date"], birth);
    let born = chrono::NaiveDate::from_ymd_opt(1990, 5, 17).unwrap();
    let age = Utc::now().date_naive().years_since(born).unwrap();
    assert_eq!(c["age"], age, "age derived from the birth date: {c}");
    assert_eq!(c["groups"], json!(["vip"]));
    assert_eq!(c["comments"], "Prefers mornings");
    assert_eq!(c["blocked"], false);
    assert_eq!(c["lifecycle"], "prospect");
    assert_eq!(c["assigned_user_id"], t.admin_user_id.as_str());
    assert_eq!(c["created_by"], t.admin_user_id.as_str());
    assert_eq!(c["version"], 1);
    assert!(
        c["created_at"].is_string() && c["updated_at"].is_string(),
        "{c}"
    );

    let id = c.str("id");
    let read = s
        .send(
            Method::GET,
            &contact_path(&id),
            &t.admin_token,
            &Value::Null,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.header("etag"), "\"1\"");
    let mut stripped = read.body.clone();
    let mut created = c.clone();
    for v in [&mut stripped, &mut created] {
        v.as_object_mut().unwrap().remove("extensions");
    }
    assert_eq!(stripped, created, "GET differs from the creation answer");
    assert!(all_ids(&s, &t.admin_token).await.contains(&id));

    // A Belgian company: enterprise and VAT numbers with separators are accepted.
    let firm = create(
        &s,
        &t.admin_token,
        json!({"kind": "company", "company_name": "Garage Nord", "national_number": "0403.170.701",
               "vat_number": "BE 0403.170.701", "phones": ["+32 2 555 12 12"]}),
    )
    .await;
    assert_eq!(firm["display_name"], "Garage Nord");
    let digits: String = firm
        .str("national_number")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(digits, "0403170701", "{firm}");
    assert_eq!(firm["vat_number"], "BE0403170701");
    assert_eq!(firm["emails"], json!([]));
    assert_eq!(firm["phones"], json!(["+3225551212"]));
    let dutch = create(
        &s,
        &t.admin_token,
        json!({"kind": "company", "company_name": "Autohuis", "vat_number": "NL123456789B01", "emails": [unique_email("nl")]}),
    )
    .await;
    assert_eq!(dutch["vat_number"], "NL123456789B01");

    // A person working for the company.
    let employee = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "last_name": "Janssens", "emails": [unique_email("e")], "employer_id": firm["id"], "position": "Fleet manager"}),
    )
    .await;
    assert_eq!(employee["employer_id"], firm["id"]);
    assert_eq!(employee["age"], Value::Null);
}

#[tokio::test]
async fn contacts_validation_names_the_field() {
    let s = TestServer::start().await;
    let (t, other) = (s.tenant("go").await, s.tenant("go").await);
    let someone = create(&s, &t.admin_token, person("Ann", "Peeters")).await;
    let foreign_firm = create(&s, &other.admin_token, company("Foreign NV")).await;
    let before = all_ids(&s, &t.admin_token).await;

    let email = || json!([unique_email("v")]);
    let future = (Utc::now().date_naive() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let address = |default: bool| json!({"type": "billing", "default": default, "street": "Rue 1", "postal_code": "1000", "city": "Bruxelles", "country": "BE"});
    // (request body, field the 422 must name, problem type when it matters)
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({"kind": "person", "last_name": "Nobody"}),
            "emails",
            Some("contact_unreachable"),
        ),
        (
            json!({"kind": "person", "last_name": "Nobody", "emails": [], "phones": []}),
            "emails",
            Some("contact_unreachable"),
        ),
        (
            json!({"kind": "person", "last_name": "X", "emails": ["not-an-email"]}),
            "emails[0]",
            None,
        ),
        (
            json!({"kind": "person", "last_name": "X", "phones": ["12"]}),
            "phones[0]",
            None,
        ),
        (
            json!({"kind": "person", "emails": email()}),
            "last_name",
            None,
        ),
        (
            json!({"kind": "person", "first_name": "  ", "last_name": "", "emails": email()}),
            "last_name",
            None,
        ),
        (
            json!({"kind": "company", "emails": email()}),
            "company_name",
            None,
        ),
        (
            json!({"kind": "company", "company_name": "Bad KBO", "national_number": "0403.170.702", "emails": email()}),
            "national_number",
            None,
        ),
        (
            json!({"kind": "company", "company_name": "Bad VAT", "vat_number": "BE0403170702", "emails": email()}),
            "vat_number",
            None,
        ),
        (
            json!({"kind": "person", "last_name": "Unborn", "birth_date": future, "emails": email()}),
            "birth_date",
            None,
        ),
        (
            json!({"kind": "person", "last_name": "X", "vat_rate": 150, "emails": email()}),
            "vat_rate",
            None,
        ),
        (
            json!({"kind": "person", "last_name": "X", "emails": email(), "addresses": [address(true), address(true)]}),
            "addresses",
            None,
        ),
        (
            json!({"kind": "person", "last_name": "X", "emails": email(), "employer_id": someone["id"]}),
            "employer_id",
            None,
        ),
        (
            json!({"kind": "person", "last_name": "X", "emails": email(), "employer_id": foreign_firm["id"]}),
            "employer_id",
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (body, field, kind) in cases {
        let (status, reply) = s
            .post("/api/v1/contacts", &t.admin_token, body.clone())
            .await;
        let ok =
            status == 422 && reply["field"] == field && kind.is_none_or(|k| reply["type"] == k);
        if !ok {
            failures.push(format!(
                "POST {body} -> {status} {reply} (expected 422 naming {field})"
            ));
        }
    }
    // Server-owned and unknown fields are refused, by name.
    for field in ["id", "tenant_id", "age", "created_at", "version"] {
        let mut body = person("Sly", "Sender");
        body[field] = match field {
            "age" | "version" => json!(3),
            "created_at" => json!("2020-01-01T00:00:00Z"),
            _ => json!(uuid::Uuid::now_v7()),
        };
        let (status, reply) = s
            .post("/api/v1/contacts", &t.admin_token, body.clone())
            .await;
        if !(status == 422 && reply["field"] == field) {
            failures.push(format!(
                "POST {body} -> {status} {reply} (expected 422 naming {field})"
            ));
        }
    }
    // PATCH runs the same checks.
    let path = contact_path(&someone.str("id"));
    let patches: Vec<(Value, &str)> = vec![
        (json!({"emails": [], "phones": []}), "emails"),
        (json!({"vat_number": "BE0403170702"}), "vat_number"),
        (json!({"phones": ["not a phone"]}), "phones[0]"),
        (json!({"birth_date": future}), "birth_date"),
        (json!({"version": 7}), "version"),
        (json!({"age": 40}), "age"),
        (json!({"id": uuid::Uuid::now_v7()}), "id"),
    ];
    for (body, field) in patches {
        let (status, reply) = s.patch(&path, &t.admin_token, body.clone()).await;
        if !(status == 422 && reply["field"] == field) {
            failures.push(format!(
                "PATCH {body} -> {status} {reply} (expected 422 naming {field})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "invalid contacts not refused as expected:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        all_ids(&s, &t.admin_token).await,
        before,
        "a refused request created a contact"
    );
    let after = s.get(&path, &t.admin_token).await.ok(200);
    assert_eq!(
        (&after["version"], &after["emails"]),
        (&someone["version"], &someone["emails"]),
        "a refused PATCH changed the contact"
    );
}

#[tokio::test]
async fn contacts_patch_honours_if_match() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let c = create(&s, &t.admin_token, person("Eva", "Wouters")).await;
    let path = contact_path(&c.str("id"));
    // Every answer's ETag is its version, quoted.
    let etag_of = |r: &Reply| format!("\"{}\"", r.body["version"]);
    let mut etags = vec!["\"1\"".to_string()];

    // With the ETag of the creation.
    let first = send_if_match(
        &s,
        Method::PATCH,
        &path,
        &t.admin_token,
        "\"1\"",
        &json!({"comments": "first"}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("etag"), etag_of(&first), "{}", first.body);
    assert_eq!(first.body["comments"], "first");
    etags.push(first.header("etag").to_string());

    // The ETag read before that change is stale now: 412 and nothing changes.
    let stale = send_if_match(
        &s,
        Method::PATCH,
        &path,
        &t.admin_token,
        "\"1\"",
        &json!({"comments": "stale write", "last_name": "Overwritten"}),
    )
    .await;
    assert_eq!(
        stale.assert_problem(412)["type"],
        "precondition_failed",
        "{}",
        stale.body
    );
    let read = s
        .send(Method::GET, &path, &t.admin_token, &Value::Null)
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["comments"], "first", "a 412 changed the contact");
    assert_eq!(read.body["last_name"], "Wouters");
    assert_eq!(read.body["version"], first.body["version"]);
    assert_eq!(read.header("etag"), first.header("etag"));

    // With the current ETag.
    let current = read.header("etag").to_string();
    let second = send_if_match(
        &s,
        Method::PATCH,
        &path,
        &t.admin_token,
        &current,
        &json!({"comments": null, "phones": ["0470 99 88 77"]}),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.header("etag"), etag_of(&second));
    assert_eq!(second.body["comments"], Value::Null, "null clears a field");
    assert_eq!(second.body["phones"], json!(["+32470998877"]));
    assert_eq!(second.body["last_name"], "Wouters", "absent fields stay");
    assert_eq!(second.body["emails"], c["emails"]);
    etags.push(second.header("etag").to_string());
    // The ETag just used is stale too.
    let replay = send_if_match(
        &s,
        Method::PATCH,
        &path,
        &t.admin_token,
        &current,
        &json!({"comments": "replayed"}),
    )
    .await;
    replay.assert_problem(412);

    // Without If-Match: allowed.
    let third = s
        .send(
            Method::PATCH,
            &path,
            &t.admin_token,
            &json!({"first_name": "Eva-Maria"}),
        )
        .await;
    assert_eq!(third.status, 200, "{}", third.body);
    assert_eq!(third.header("etag"), etag_of(&third));
    assert_eq!(third.body["display_name"], "Eva-Maria Wouters");
    assert_eq!(third.body["comments"], Value::Null);
    etags.push(third.header("etag").to_string());
    let actions = activity_actions(&s, &t.admin_token, &c.str("id")).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "updated").count(),
        3,
        "three updates logged: {actions:?}"
    );
    assert!(actions.contains(&"created".to_string()), "{actions:?}");

    // Each change moves the version (and ETag) on by exactly one.
    assert_eq!(
        etags,
        ["\"1\"", "\"2\"", "\"3\"", "\"4\""],
        "ETags after create and three PATCHes"
    );
}

#[tokio::test]
async fn contacts_delete_then_not_found() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let firm = create(&s, &t.admin_token, company("Doomed BV")).await;
    let employee = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "last_name": "Staff", "emails": [unique_email("s")], "employer_id": firm["id"]}),
    )
    .await;
    let path = contact_path(&firm.str("id"));
    s.delete(&path, &t.admin_token, Value::Null).await.ok(204);
    s.get(&path, &t.admin_token).await.problem(404, "not_found");
    s.patch(&path, &t.admin_token, json!({"comments": "ghost"}))
        .await
        .problem(404, "not_found");
    s.delete(&path, &t.admin_token, Value::Null)
        .await
        .problem(404, "not_found");
    assert!(!all_ids(&s, &t.admin_token).await.contains(&firm.str("id")));
    let e = s
        .get(&contact_path(&employee.str("id")), &t.admin_token)
        .await
        .ok(200);
    assert_eq!(
        e["employer_id"],
        Value::Null,
        "the employee keeps existing without employer"
    );
    let actions = activity_actions(&s, &t.admin_token, &firm.str("id")).await;
    assert!(actions.contains(&"deleted".to_string()), "{actions:?}");
}

#[tokio::test]
async fn contacts_convert_prospect_to_customer_once() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let c = create(&s, &t.admin_token, person("Luc", "Claes")).await;
    assert_eq!(c["lifecycle"], "prospect");
    let path = format!("{}/convert", contact_path(&c.str("id")));
    let converted = s.post(&path, &t.admin_token, Value::Null).await.ok(200);
    assert_eq!(converted["lifecycle"], "customer");
    assert_eq!(converted["id"], c["id"]);
    s.post(&path, &t.admin_token, Value::Null)
        .await
        .problem(409, "already_customer");
    let read = s
        .get(&contact_path(&c.str("id")), &t.admin_token)
        .await
        .ok(200);
    assert_eq!(read["lifecycle"], "customer");
    s.post(
        "/api/v1/contacts/00000000-0000-7000-8000-000000000000/convert",
        &t.admin_token,
        Value::Null,
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn contacts_list_pages_with_a_cursor() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            create(&s, &t.admin_token, person("Page", &format!("Number{i}")))
                .await
                .str("id"),
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/contacts?limit=2".to_string();
    let mut pages = 0;
    loop {
        let page = s.get(&path, &t.admin_token).await.ok(200);
        assert!(page.ids().len() <= 2, "{page}");
        pages += 1;
        seen.extend(page.ids());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/contacts?limit=2&cursor={c}"),
            None => break,
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(seen, created, "every contact once, oldest first");
    assert!(pages >= 3, "{pages} pages of 2 for 5 contacts");
}

#[tokio::test]
async fn contacts_duplicates_come_with_reasons() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let email = unique_email("jan");
    let original = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "first_name": "Jan", "last_name": "Peeters", "emails": [email], "phones": ["0470 11 22 33"]}),
    )
    .await;
    let same_email = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "first_name": "Jan", "last_name": "Peeters", "emails": [email.to_uppercase()]}),
    )
    .await;
    let same_phone = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "first_name": "Marie", "last_name": "Dubois", "phones": ["+32 470 11 22 33"]}),
    )
    .await;
    let same_name = create(&s, &t.admin_token, person("Jan", "Peeters")).await;
    let unrelated = create(&s, &t.admin_token, person("Jan", "Janssens")).await;

    let path = format!("{}/duplicates", contact_path(&original.str("id")));
    let items = s.get(&path, &t.admin_token).await.ok(200).items();
    let reasons = |id: &Value| -> Option<Vec<String>> {
        items.iter().find(|i| i["contact"]["id"] == *id).map(|i| {
            let mut r: Vec<String> = i["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            r.sort();
            r
        })
    };
    assert_eq!(
        reasons(&same_email["id"]),
        Some(vec!["same_email".to_string(), "similar_name".to_string()]),
        "{items:?}"
    );
    assert_eq!(
        reasons(&same_phone["id"]),
        Some(vec!["same_phone".to_string()]),
        "{items:?}"
    );
    assert_eq!(
        reasons(&same_name["id"]),
        Some(vec!["similar_name".to_string()]),
        "{items:?}"
    );
    assert_eq!(reasons(&unrelated["id"]), None, "{items:?}");
    assert_eq!(reasons(&original["id"]), None, "itself is no duplicate");
    assert_eq!(
        items[0]["contact"]["id"], same_email["id"],
        "most reasons first"
    );
    assert_eq!(items[0]["contact"]["emails"], json!([email]));

    // Companies: same enterprise number, same VAT number.
    let firm = create(
        &s,
        &t.admin_token,
        json!({"kind": "company", "company_name": "Alpha", "national_number": "0403170701", "vat_number": "BE0403170701", "emails": [unique_email("a")]}),
    )
    .await;
    let same_kbo = create(
        &s,
        &t.admin_token,
        json!({"kind": "company", "company_name": "Beta", "national_number": "0403.170.701", "emails": [unique_email("b")]}),
    )
    .await;
    let same_vat = create(
        &s,
        &t.admin_token,
        json!({"kind": "company", "company_name": "Gamma", "vat_number": "BE 0403 170 701", "emails": [unique_email("g")]}),
    )
    .await;
    let path = format!("{}/duplicates", contact_path(&firm.str("id")));
    let items = s.get(&path, &t.admin_token).await.ok(200).items();
    let reasons_of = |id: &Value| {
        items
            .iter()
            .find(|i| i["contact"]["id"] == *id)
            .map(|i| i["reasons"].clone())
    };
    assert_eq!(
        reasons_of(&same_kbo["id"]),
        Some(json!(["same_national_number"])),
        "{items:?}"
    );
    assert_eq!(
        reasons_of(&same_vat["id"]),
        Some(json!(["same_vat_number"])),
        "{items:?}"
    );
}

#[tokio::test]
async fn contacts_merge_folds_duplicates_into_the_survivor() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (shared, extra) = (unique_email("shared"), unique_email("extra"));
    let survivor = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "first_name": "Jan", "last_name": "Peeters", "emails": [shared],
               "groups": ["vip"], "comments": "Survivor note",
               "addresses": [{"type": "billing", "street": "Rue A 1", "postal_code": "1000", "city": "Bruxelles"}]}),
    )
    .await;
    let duplicate = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "first_name": "Jan", "last_name": "Peeters", "emails": [extra, shared],
               "phones": ["0470 55 66 77"], "groups": ["fleet", "vip"], "position": "Director",
               "birth_date": "1980-02-03", "vat_number": "NL123456789B01",
               "addresses": [{"type": "delivery", "street": "Rue B 2", "postal_code": "4000", "city": "Liège"}]}),
    )
    .await;
    let (sid, did) = (survivor.str("id"), duplicate.str("id"));
    let merge = format!("{}/merge", contact_path(&sid));

    s.post(&merge, &t.admin_token, json!({"duplicates": [sid]}))
        .await
        .invalid("duplicates");
    s.post(&merge, &t.admin_token, json!({"duplicates": []}))
        .await
        .invalid("duplicates");

    let merged = s
        .post(&merge, &t.admin_token, json!({"duplicates": [did]}))
        .await
        .ok(200);
    assert_eq!(merged["id"], sid.as_str());
    assert_eq!(merged["emails"], json!([shared, extra]), "{merged}");
    assert_eq!(merged["phones"], json!(["+32470556677"]));
    assert_eq!(merged["groups"], json!(["vip", "fleet"]));
    assert_eq!(merged["position"], "Director", "empty fields are filled");
    assert_eq!(merged["birth_date"], "1980-02-03");
    assert_eq!(merged["vat_number"], "NL123456789B01");
    assert!(merged["age"].is_u64(), "{merged}");
    assert!(
        merged["comments"]
            .as_str()
            .is_some_and(|c| c.contains("Survivor note")),
        "{merged}"
    );
    let addresses = merged["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 2, "{merged}");
    let defaults: Vec<&Value> = addresses.iter().filter(|a| a["default"] == true).collect();
    assert_eq!(defaults.len(), 1, "exactly one default address: {merged}");
    assert_eq!(defaults[0]["street"], "Rue A 1");
    assert!(addresses.iter().any(|a| a["street"] == "Rue B 2"));

    let read = s.get(&contact_path(&sid), &t.admin_token).await.ok(200);
    assert_eq!(read["emails"], merged["emails"]);
    assert_eq!(read["version"], merged["version"]);
    s.get(&contact_path(&did), &t.admin_token)
        .await
        .problem(404, "not_found");
    assert!(!all_ids(&s, &t.admin_token).await.contains(&did));
    let dup_path = format!("{}/duplicates", contact_path(&sid));
    let dups = s.get(&dup_path, &t.admin_token).await.ok(200);
    assert!(
        !dups.to_string().contains(&did),
        "the merged contact is still a duplicate: {dups}"
    );
    // The duplicate's email now finds the survivor.
    let found = s
        .get(&format!("/api/v1/contacts?q={extra}"), &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert_eq!(found, vec![sid.clone()]);

    let survivor_log = activity_actions(&s, &t.admin_token, &sid).await;
    assert!(
        survivor_log.contains(&"merged".to_string()),
        "{survivor_log:?}"
    );
    let duplicate_log = activity_actions(&s, &t.admin_token, &did).await;
    assert!(
        duplicate_log.contains(&"merged_into".to_string()),
        "{duplicate_log:?}"
    );
    // Merging an already merged (gone) contact: 404.
    s.post(&merge, &t.admin_token, json!({"duplicates": [did]}))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn contacts_salesperson_writes_only_their_own() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let admins = create(&s, &t.admin_token, person("Admin", "Owned")).await;
    let mine = create(&s, &sp.token, person("Sales", "Owned")).await;
    assert_eq!(mine["assigned_user_id"], sp.id.as_str());
    assert_eq!(mine["created_by"], sp.id.as_str());

    // Reads at tenant scope.
    s.get(&contact_path(&admins.str("id")), &sp.token)
        .await
        .ok(200);
    let listed = all_ids(&s, &sp.token).await;
    assert!(listed.contains(&admins.str("id")) && listed.contains(&mine.str("id")));

    // Writes at own scope.
    let theirs = contact_path(&admins.str("id"));
    s.patch(&theirs, &sp.token, json!({"comments": "mine now"}))
        .await
        .problem(404, "not_found");
    s.post(&format!("{theirs}/convert"), &sp.token, Value::Null)
        .await
        .problem(404, "not_found");
    let (status, _) = s.delete(&theirs, &sp.token, Value::Null).await;
    assert!(
        status == 403 || status == 404,
        "a salesperson deleted another's contact: {status}"
    );
    let unchanged = s.get(&theirs, &t.admin_token).await.ok(200);
    assert_eq!(unchanged["comments"], Value::Null);
    assert_eq!(unchanged["lifecycle"], "prospect");
    assert_eq!(unchanged["version"], 1);

    let patched = s
        .patch(
            &contact_path(&mine.str("id")),
            &sp.token,
            json!({"comments": "my note"}),
        )
        .await
        .ok(200);
    assert_eq!(patched["comments"], "my note");
    // Giving their contact away or creating one for someone else is beyond own scope.
    let mut for_admin = person("Gift", "Contact");
    for_admin["assigned_user_id"] = json!(t.admin_user_id);
    s.post("/api/v1/contacts", &sp.token, for_admin)
        .await
        .problem(403, "forbidden");
    s.patch(
        &contact_path(&mine.str("id")),
        &sp.token,
        json!({"assigned_user_id": t.admin_user_id}),
    )
    .await
    .problem(403, "forbidden");
    assert_eq!(
        s.get(&contact_path(&mine.str("id")), &t.admin_token)
            .await
            .ok(200)["assigned_user_id"],
        sp.id.as_str()
    );
}

#[tokio::test]
async fn contacts_manager_writes_within_their_establishment() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let other_site = s
        .post(
            "/api/v1/establishments",
            &t.admin_token,
            json!({"name": unique("Site"), "company_id": t.company_id}),
        )
        .await
        .ok(201)
        .str("id");
    let mgr = s
        .create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await;
    let mut here = person("Here", "Site");
    here["establishment_id"] = json!(t.establishment_id);
    let here = create(&s, &t.admin_token, here).await;
    let mut there = person("There", "Site");
    there["establishment_id"] = json!(other_site);
    let there = create(&s, &t.admin_token, there).await;

    let patched = s
        .patch(
            &contact_path(&here.str("id")),
            &mgr.token,
            json!({"comments": "manager note"}),
        )
        .await
        .ok(200);
    assert_eq!(patched["comments"], "manager note");
    s.get(&contact_path(&there.str("id")), &mgr.token)
        .await
        .ok(200);
    s.patch(
        &contact_path(&there.str("id")),
        &mgr.token,
        json!({"comments": "manager note"}),
    )
    .await
    .problem(404, "not_found");
    assert_eq!(
        s.get(&contact_path(&there.str("id")), &t.admin_token)
            .await
            .ok(200)["comments"],
        Value::Null
    );
}

#[tokio::test]
async fn contacts_of_another_tenant_are_not_found_and_stay_untouched() {
    let s = TestServer::start().await;
    let (a, b) = (s.tenant("go").await, s.tenant("go").await);
    let victim = create(
        &s,
        &a.admin_token,
        json!({"kind": "person", "first_name": "Vic", "last_name": "Tim", "emails": [unique_email("vic")], "phones": ["0470 12 12 12"]}),
    )
    .await;
    let own = create(
        &s,
        &b.admin_token,
        json!({"kind": "person", "first_name": "Vic", "last_name": "Tim", "emails": victim["emails"], "phones": ["0470 12 12 12"]}),
    )
    .await;
    let (vid, oid) = (victim.str("id"), own.str("id"));
    let before = s.get(&contact_path(&vid), &a.admin_token).await.ok(200);

    let p = contact_path(&vid);
    let attacks = vec![
        (Method::GET, p.clone(), Value::Null),
        (Method::PATCH, p.clone(), json!({"last_name": "Hijacked"})),
        (Method::POST, format!("{p}/convert"), Value::Null),
        (Method::GET, format!("{p}/duplicates"), Value::Null),
        (
            Method::POST,
            format!("{p}/merge"),
            json!({"duplicates": [oid]}),
        ),
        (
            Method::POST,
            format!("{}/merge", contact_path(&oid)),
            json!({"duplicates": [vid]}),
        ),
        (Method::DELETE, p.clone(), Value::Null),
    ];
    let not_found = |status: forecourt_tests::StatusCode, reply: &Value| {
        status == 404 && reply["type"] == "not_found"
    };
    let leaks = s.unexpected(&b.admin_token, attacks, not_found).await;
    assert!(
        leaks.is_empty(),
        "cross-tenant contact requests not answered 404:\n{}",
        leaks.join("\n")
    );

    let after = s.get(&p, &a.admin_token).await.ok(200);
    assert_eq!(after, before, "tenant A's contact changed");
    let own_after = s.get(&contact_path(&oid), &b.admin_token).await.ok(200);
    assert_eq!(own_after["version"], own["version"]);
    assert_eq!(own_after["emails"], own["emails"]);

    // B's duplicates of its own contact never list A's identical one.
    let dups = s
        .get(
            &format!("{}/duplicates", contact_path(&oid)),
            &b.admin_token,
        )
        .await
        .ok(200);
    assert!(!dups.to_string().contains(&vid), "{dups}");
    assert!(!all_ids(&s, &b.admin_token).await.contains(&vid));
}

#[tokio::test]
async fn contacts_concurrent_patches_with_one_etag_let_one_win() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let c = create(&s, &t.admin_token, person("Race", "Condition")).await;
    let path = contact_path(&c.str("id"));
    let mut outcomes = Vec::new();
    for round in 0..3 {
        let etag = s
            .send(Method::GET, &path, &t.admin_token, &Value::Null)
            .await
            .header("etag")
            .to_string();
        let (bx, by) = (
            json!({"comments": format!("x{round}")}),
            json!({"comments": format!("y{round}")}),
        );
        let (x, y) = tokio::join!(
            send_if_match(&s, Method::PATCH, &path, &t.admin_token, &etag, &bx,),
            send_if_match(&s, Method::PATCH, &path, &t.admin_token, &etag, &by,),
        );
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort_unstable();
        outcomes.push(format!(
            "round {round}: {statuses:?} ({} / {})",
            x.body, y.body
        ));
        let winner = if x.status == 200 { &x } else { &y };
        let read = s.get(&path, &t.admin_token).await.ok(200);
        if statuses == [200, 412] {
            assert_eq!(
                read["comments"], winner.body["comments"],
                "the loser overwrote the winner"
            );
        }
    }
    assert!(
        outcomes.iter().all(|o| o.contains("[200, 412]")),
        "two PATCHes with the same If-Match must give one 200 and one 412:\n{}",
        outcomes.join("\n")
    );
}
