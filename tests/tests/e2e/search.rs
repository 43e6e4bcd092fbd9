//! Contact search (`GET /contacts?q=` and `GET /search?q=`): folding, prefixes, phone and
//! number formats, scope, cache invalidation and tenant isolation.

use forecourt_tests::{Expect, Json, PROPAGATION, TestServer, unique_email};
use serde_json::{Value, json};
use std::time::Instant;

/// `s` percent-encoded for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The ids `GET /contacts?q=` answers.
async fn list_search(s: &TestServer, token: &str, q: &str) -> Vec<String> {
    let body = s
        .get(&format!("/api/v1/contacts?q={}", encode(q)), token)
        .await
        .ok(200);
    body.ids()
}

/// The contact ids `GET /search?q=` answers.
async fn global_search(s: &TestServer, token: &str, q: &str) -> Vec<String> {
    let body = s
        .get(&format!("/api/v1/search?q={}", encode(q)), token)
        .await
        .ok(200);
    match body["contacts"].as_array() {
        Some(c) => c.iter().map(|c| c.str("id")).collect(),
        None => panic!("no contacts array in {body}"),
    }
}

/// Both searches, checked to agree; the ids sorted.
async fn search(s: &TestServer, token: &str, q: &str) -> Vec<String> {
    let mut listed = list_search(s, token, q).await;
    let mut global = global_search(s, token, q).await;
    listed.sort();
    global.sort();
    assert_eq!(
        listed, global,
        "/contacts?q= and /search?q= disagree for {q:?}"
    );
    listed
}

async fn create(s: &TestServer, token: &str, body: Value) -> String {
    s.post("/api/v1/contacts", token, body)
        .await
        .ok(201)
        .str("id")
}

#[tokio::test]
async fn search_folds_accents_and_case_and_reads_numbers_in_any_format() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = &t.admin_token;
    let gerard = create(
        &s,
        tok,
        json!({"kind": "person", "first_name": "Gérard", "last_name": "Ménard",
               "emails": ["Gerard.Menard@Garage-Test.be"], "phones": ["0470 12 34 56"]}),
    )
    .await;
    let paul = create(
        &s,
        tok,
        json!({"kind": "person", "first_name": "Paul", "last_name": "Martin", "emails": [unique_email("x")]}),
    )
    .await;
    let vatco = create(
        &s,
        tok,
        json!({"kind": "company", "company_name": "Vatco", "vat_number": "BE0403170701", "emails": [unique_email("x")]}),
    )
    .await;
    let kboco = create(
        &s,
        tok,
        json!({"kind": "company", "company_name": "Kboco", "national_number": "0876.543.270", "phones": ["+32 2 555 00 00"]}),
    )
    .await;
    let citizen = create(
        &s,
        tok,
        json!({"kind": "person", "last_name": "Citizen", "national_number": "85.07.30-033.28", "emails": [unique_email("x")]}),
    )
    .await;

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("gerard", vec![&gerard]),
        ("GERARD", vec![&gerard]),
        ("Gérard", vec![&gerard]),
        ("menard", vec![&gerard]),
        ("Ménard", vec![&gerard]),
        ("MÉNARD", vec![&gerard]),
        ("gér", vec![&gerard]),
        ("mena", vec![&gerard]),
        ("gerard menard", vec![&gerard]),
        ("ménard gérard", vec![&gerard]),
        ("gér mén", vec![&gerard]),
        ("gerard martin", vec![]),
        ("paul martin", vec![&paul]),
        ("0470 12 34 56", vec![&gerard]),
        ("0470123456", vec![&gerard]),
        ("+32 470 12 34 56", vec![&gerard]),
        ("+32470123456", vec![&gerard]),
        ("0032470123456", vec![&gerard]),
        ("0032 470 12 34 56", vec![&gerard]),
        ("gerard.menard@garage-test.be", vec![&gerard]),
        ("GERARD.Menard@Garage-Test.BE", vec![&gerard]),
        ("gerard.menard@gar", vec![&gerard]),
        ("BE 0403.170.701", vec![&vatco]),
        ("BE0403170701", vec![&vatco]),
        ("be0403170701", vec![&vatco]),
        ("vatco", vec![&vatco]),
        ("0876.543.270", vec![&kboco]),
        ("0876543270", vec![&kboco]),
        ("85.07.30-033.28", vec![&citizen]),
        ("xyzzy", vec![]),
    ];
    let mut failures = Vec::new();
    for (q, want) in cases {
        let mut want: Vec<String> = want.into_iter().cloned().collect();
        want.sort();
        for (endpoint, mut got) in [
            ("/contacts?q=", list_search(&s, tok, q).await),
            ("/search?q=", global_search(&s, tok, q).await),
        ] {
            got.sort();
            if got != want {
                failures.push(format!("{endpoint}{q:?} -> {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "ids: gerard {gerard}, paul {paul}, vatco {vatco}, kboco {kboco}, citizen {citizen}\n{}",
        failures.join("\n")
    );

    // Results are full contacts.
    let body = s
        .get(&format!("/api/v1/search?q={}", encode("ménard")), tok)
        .await
        .ok(200);
    let found = &body["contacts"][0];
    assert_eq!(found["display_name"], "Gérard Ménard");
    assert_eq!(found["phones"], json!(["+32470123456"]));
    assert_eq!(found["emails"], json!(["gerard.menard@garage-test.be"]));
    let listed = s
        .get(&format!("/api/v1/contacts?q={}", encode("ménard")), tok)
        .await
        .ok(200);
    assert_eq!(listed["items"][0]["display_name"], "Gérard Ménard");
    assert_eq!(listed["next_cursor"], Value::Null);
}

#[tokio::test]
async fn search_ranks_exact_words_above_prefixes() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let prefix = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "last_name": "Peetersen", "emails": [unique_email("x")]}),
    )
    .await;
    let exact = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "last_name": "Peeters", "emails": [unique_email("x")]}),
    )
    .await;
    assert_eq!(
        list_search(&s, &t.admin_token, "peeters").await,
        vec![exact.clone(), prefix.clone()]
    );
    assert_eq!(
        global_search(&s, &t.admin_token, "peeters").await,
        vec![exact, prefix]
    );
}

#[tokio::test]
async fn search_respects_the_callers_scope() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let admins = create(
        &s,
        &t.admin_token,
        json!({"kind": "person", "first_name": "Scope", "last_name": "Admin", "emails": [unique_email("x")]}),
    )
    .await;
    let mine = create(
        &s,
        &sp.token,
        json!({"kind": "person", "first_name": "Scope", "last_name": "Seller", "emails": [unique_email("x")]}),
    )
    .await;
    let mut both = vec![admins.clone(), mine.clone()];
    both.sort();
    assert_eq!(search(&s, &sp.token, "scope").await, both);

    let read_tenant = json!({"subject": "role:salesperson", "object": "contacts", "action": "read", "scope": "tenant"});
    let read_own = json!({"subject": "role:salesperson", "object": "contacts", "action": "read", "scope": "own"});
    s.delete("/api/v1/permissions", &t.admin_token, read_tenant)
        .await
        .ok(204);
    s.post("/api/v1/permissions", &t.admin_token, read_own)
        .await
        .ok(201);

    let deadline = Instant::now() + PROPAGATION;
    let mut found = search(&s, &sp.token, "scope").await;
    while found != vec![mine.clone()] && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        found = search(&s, &sp.token, "scope").await;
    }
    assert_eq!(
        found,
        vec![mine.clone()],
        "the salesperson still finds the admin's contact ({admins})"
    );
    assert!(search(&s, &sp.token, "admin").await.is_empty());
    let listed = s.get("/api/v1/contacts", &sp.token).await.ok(200).ids();
    assert_eq!(listed, vec![mine.clone()]);
    s.get(&format!("/api/v1/contacts/{admins}"), &sp.token)
        .await
        .problem(404, "not_found");
    // The admin still finds both.
    assert_eq!(search(&s, &t.admin_token, "scope").await, both);
}

#[tokio::test]
async fn search_cache_follows_every_write() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = &t.admin_token;
    let first = create(
        &s,
        tok,
        json!({"kind": "person", "first_name": "Anne", "last_name": "Ménard", "emails": [unique_email("x")]}),
    )
    .await;
    // Warm the cache, twice.
    assert_eq!(search(&s, tok, "menard").await, vec![first.clone()]);
    assert_eq!(search(&s, tok, "menard").await, vec![first.clone()]);

    let second = create(
        &s,
        tok,
        json!({"kind": "person", "first_name": "Bert", "last_name": "Menard", "emails": [unique_email("x")]}),
    )
    .await;
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(
        search(&s, tok, "menard").await,
        both,
        "a new contact is not found at once"
    );

    assert!(search(&s, tok, "dupont").await.is_empty());
    s.patch(
        &format!("/api/v1/contacts/{first}"),
        tok,
        json!({"last_name": "Dupont"}),
    )
    .await
    .ok(200);
    assert_eq!(
        search(&s, tok, "menard").await,
        vec![second.clone()],
        "the old name still finds a renamed contact"
    );
    assert_eq!(search(&s, tok, "dupont").await, vec![first.clone()]);
    assert_eq!(search(&s, tok, "anne dupont").await, vec![first.clone()]);

    s.delete(&format!("/api/v1/contacts/{second}"), tok, Value::Null)
        .await
        .ok(204);
    assert!(
        search(&s, tok, "menard").await.is_empty(),
        "a deleted contact is still found"
    );

    // A merge: the duplicate is no longer found, its email finds the survivor.
    let email = unique_email("merged");
    let dup = create(
        &s,
        tok,
        json!({"kind": "person", "first_name": "Zed", "last_name": "Dupont", "emails": [email]}),
    )
    .await;
    assert_eq!(search(&s, tok, "zed").await, vec![dup.clone()]);
    assert_eq!(search(&s, tok, &email).await, vec![dup.clone()]);
    s.post(
        &format!("/api/v1/contacts/{first}/merge"),
        tok,
        json!({"duplicates": [dup]}),
    )
    .await
    .ok(200);
    assert!(search(&s, tok, "zed").await.is_empty());
    assert_eq!(search(&s, tok, &email).await, vec![first]);
}

#[tokio::test]
async fn search_never_crosses_tenants() {
    let s = TestServer::start().await;
    let (a, b) = (s.tenant("go").await, s.tenant("go").await);
    let email = unique_email("isolde");
    let person = create(
        &s,
        &a.admin_token,
        json!({"kind": "person", "first_name": "Isolde", "last_name": "Quist", "emails": [email], "phones": ["0470 31 41 59"]}),
    )
    .await;
    let firm = create(
        &s,
        &a.admin_token,
        json!({"kind": "company", "company_name": "Quistco", "vat_number": "BE0403170701", "national_number": "0403170701", "emails": [unique_email("q")]}),
    )
    .await;
    // B has a contact of its own, with another name.
    create(
        &s,
        &b.admin_token,
        json!({"kind": "person", "last_name": "Other", "emails": [unique_email("o")]}),
    )
    .await;

    let queries = [
        (email.as_str(), &person),
        ("isolde", &person),
        ("Isolde Quist", &person),
        ("quist", &person),
        ("0470 31 41 59", &person),
        ("+32470314159", &person),
        ("BE 0403.170.701", &firm),
        ("0403170701", &firm),
    ];
    let mut leaks = Vec::new();
    for (q, id) in queries {
        // A first (the answer is cached for A), then B, then B again (B's cache), then A.
        let own = search(&s, &a.admin_token, q).await;
        assert!(own.contains(id), "tenant A does not find {id} with {q:?}");
        for _ in 0..2 {
            for (endpoint, got) in [
                ("/contacts?q=", list_search(&s, &b.admin_token, q).await),
                ("/search?q=", global_search(&s, &b.admin_token, q).await),
            ] {
                if !got.is_empty() {
                    leaks.push(format!("B {endpoint}{q:?} -> {got:?}"));
                }
            }
        }
        assert!(search(&s, &a.admin_token, q).await.contains(id));
    }
    assert!(
        leaks.is_empty(),
        "tenant B finds tenant A's contacts:\n{}",
        leaks.join("\n")
    );
    let listed = s.get("/api/v1/contacts", &b.admin_token).await.ok(200);
    let text = listed.to_string();
    assert!(!text.contains(&person) && !text.contains(&firm), "{listed}");
}

/// The search context of a tenant's user, as the API builds it.
async fn search_context(
    s: &TestServer,
    tenant_id: &str,
    user_id: &str,
    establishment_id: Option<&str>,
) -> forecourt_core::tenancy::Cx {
    let parse = |id: &str| uuid::Uuid::parse_str(id).expect("a uuid");
    let user = forecourt_core::context::TenantUser {
        tenant_id: parse(tenant_id),
        user_id: parse(user_id),
        establishment_id: establishment_id.map(parse),
        team_ids: vec![],
    };
    s.app()
        .authz
        .context(&user, "contacts", forecourt_core::access::Action::Read)
        .await
        .expect("a contacts read grant")
}

#[tokio::test]
async fn search_as_you_type_reads_the_cache_after_the_first_keystroke_and_ranks_alike() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = &t.admin_token;
    let person = |first: &str, last: &str| json!({"kind": "person", "first_name": first, "last_name": last, "emails": [unique_email("x")]});
    let menard = create(&s, tok, person("Gérard", "Ménard")).await;
    let menardo = create(&s, tok, person("Gerard", "Menardo")).await;
    let gerald = create(&s, tok, person("Gérald", "Dupont")).await;
    create(&s, tok, person("Anne", "Ménard")).await;

    let app = s.app();
    let cx = search_context(
        &s,
        &t.tenant_id,
        &t.admin_user_id,
        Some(&t.establishment_id),
    )
    .await;
    let search_ids = forecourt_crm::search::service::search_ids;
    let typed = "gérard ménard";
    let want = |q: &str| -> Vec<String> {
        match q.trim_end() {
            "g" | "gé" | "gér" | "géra" => {
                let mut all = vec![menard.clone(), menardo.clone(), gerald.clone()];
                all.sort();
                all
            }
            // The exact word ranks above its extension.
            "gérard ménard" => vec![menard.clone(), menardo.clone()],
            _ => {
                let mut two = vec![menard.clone(), menardo.clone()];
                two.sort();
                two
            }
        }
    };
    let mut first = true;
    for (at, c) in typed.char_indices() {
        let q = &typed[..at + c.len_utf8()];
        let before = app.statements.count();
        let found = search_ids(app, &cx, q, 20).await.expect("a search");
        let statements = app.statements.count() - before;
        let mut got: Vec<String> = found.iter().map(|u| u.to_string()).collect();
        if q != typed {
            got.sort();
        }
        assert_eq!(got, want(q), "keystroke {q:?}");
        // The first keystroke reads the database (an estimate, then the candidates); every
        // later one is answered from the cached candidates of an earlier one (a background
        // task of the node may add one statement to any call, never two).
        if first {
            assert!(statements >= 2, "{q:?}: {statements} statements");
            first = false;
        } else {
            assert!(
                statements <= 1,
                "{q:?} read the database: {statements} statements"
            );
        }
        // The same answers over HTTP.
        let mut listed = list_search(&s, tok, q).await;
        if q != typed {
            listed.sort();
        }
        assert_eq!(listed, want(q), "GET /contacts?q={q}");
    }

    // A write moves the generation on: the next keystroke sees the new contact.
    let third = create(&s, tok, person("Gérard", "Ménardière")).await;
    let mut got: Vec<String> = search_ids(app, &cx, "gérard ménar", 20)
        .await
        .expect("a search")
        .iter()
        .map(|u| u.to_string())
        .collect();
    got.sort();
    let mut three = vec![menard, menardo, third];
    three.sort();
    assert_eq!(
        got, three,
        "a keystroke after a write missed the new contact"
    );
}
