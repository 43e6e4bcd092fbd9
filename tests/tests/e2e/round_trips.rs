//! Round trips of contact reads and writes (issue 11): a contact is read with its children and
//! the caller's visibility in one statement, a list page likewise, writes touch each table
//! once and answer from what they wrote; and the one-statement read answers exactly what was
//! written, in order, and nothing the caller may not see.

use forecourt_tests::{Expect, Json, TestServer, unique, unique_email};
use serde_json::{Value, json};

fn path(id: &str) -> String {
    format!("/api/v1/contacts/{id}")
}

/// A contact view without the extensions of the tenant's modules (lists and searches answer
/// none).
fn bare(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("extensions");
    }
    v
}

/// A person with every child list filled, in an order no sort would give, with non-ASCII text.
fn rich(last: &str) -> Value {
    json!({
        "kind": "person",
        "first_name": "Gérard",
        "last_name": last,
        "emails": [unique_email("zed"), unique_email("alpha"), unique_email("mid")],
        "phones": ["0470 12 34 56", "+32 2 555 12 34"],
        "addresses": [
            {"type": "delivery", "street": "Chaussée de Wavre 12 — bâtiment Ω", "postal_code": "1050", "city": "Ixelles / Elsene", "country": "BE"},
            {"type": "billing", "default": true, "street": "Rue de l'Église 3", "postal_code": "4000", "city": "Liège", "country": "BE"},
        ],
        "groups": ["Zèbre", "VIP ✓", "alpha", "李"],
    })
}

/// The one-statement read answers what the write answered and what was sent, children in the
/// order given; the list page and the search answer the same contact; empty lists stay empty
/// lists; a patch that reorders or drops children reads back as patched.
#[tokio::test]
async fn one_statement_contact_read_answers_what_was_written() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let last = format!("Ménard-Ñúñez {}", unique("Zz").to_lowercase());
    let body = rich(&last);
    let created = s
        .post("/api/v1/contacts", &t.admin_token, body.clone())
        .await
        .ok(201);
    let id = created.str("id");
    let got = s.get(&path(&id), &t.admin_token).await.ok(200);
    assert_eq!(bare(&got), bare(&created));
    let emails: Vec<Value> = body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!(e.as_str().unwrap().to_lowercase()))
        .collect();
    assert_eq!(got["emails"], json!(emails));
    assert_eq!(got["phones"], json!(["+32470123456", "+3225551234"]));
    assert_eq!(got["groups"], body["groups"]);
    assert_eq!(got["last_name"], json!(last));
    let streets: Vec<&str> = got["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["street"].as_str().unwrap())
        .collect();
    assert_eq!(
        streets,
        ["Chaussée de Wavre 12 — bâtiment Ω", "Rue de l'Église 3"]
    );
    assert_eq!(got["addresses"][0]["default"], json!(false));
    assert_eq!(got["addresses"][1]["default"], json!(true));
    assert_eq!(got["addresses"][1]["city"], json!("Liège"));

    // The list page and the search read through the same statement, many contacts at once.
    let mut listed = None;
    let mut page = "/api/v1/contacts?limit=200".to_string();
    while listed.is_none() {
        let p = s.get(&page, &t.admin_token).await.ok(200);
        listed = p.items().into_iter().find(|c| c["id"] == json!(id));
        match p["next_cursor"].as_str() {
            Some(c) => page = format!("/api/v1/contacts?limit=200&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(bare(&listed.expect("listed")), bare(&got));
    let q = last.split(' ').next_back().unwrap();
    let found = s
        .get(&format!("/api/v1/contacts?q={q}"), &t.admin_token)
        .await
        .ok(200)
        .items();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(bare(&found[0]), bare(&got));

    // Only an email: every other list is an empty list, not null.
    let lone = s
        .post(
            "/api/v1/contacts",
            &t.admin_token,
            json!({"kind": "person", "last_name": unique("Lone"), "emails": [unique_email("lone")]}),
        )
        .await
        .ok(201);
    let lone_got = s.get(&path(&lone.str("id")), &t.admin_token).await.ok(200);
    assert_eq!(bare(&lone_got), bare(&lone));
    for list in ["phones", "addresses", "groups"] {
        assert_eq!(lone_got[list], json!([]), "{list}");
    }

    // Reorder the emails, drop the addresses and a group: read back as patched.
    let reordered = json!([emails[2], emails[0]]);
    let patched = s
        .patch(
            &path(&id),
            &t.admin_token,
            json!({"emails": reordered, "addresses": [], "groups": ["李", "Zèbre"]}),
        )
        .await
        .ok(200);
    let got = s.get(&path(&id), &t.admin_token).await.ok(200);
    assert_eq!(bare(&got), bare(&patched));
    assert_eq!(got["emails"], reordered);
    assert_eq!(got["addresses"], json!([]));
    assert_eq!(got["groups"], json!(["李", "Zèbre"]));
    assert_eq!(got["phones"], json!(["+32470123456", "+3225551234"]));

    // A patch of the name alone leaves every list as it was.
    let renamed = s
        .patch(&path(&id), &t.admin_token, json!({"first_name": "Gaëlle"}))
        .await
        .ok(200);
    let got_again = s.get(&path(&id), &t.admin_token).await.ok(200);
    assert_eq!(bare(&got_again), bare(&renamed));
    assert_eq!(got_again["first_name"], json!("Gaëlle"));
    for list in ["emails", "phones", "addresses", "groups"] {
        assert_eq!(got_again[list], got[list], "{list}");
    }
}

/// The visibility check inside the one statement: another tenant's contact and a contact out
/// of an own-scope salesperson's reach answer 404, exactly like a missing one; the contact
/// assigned to the salesperson answers whole.
#[tokio::test]
async fn one_statement_contact_read_keeps_tenant_and_scope() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let other = s.tenant("go").await;
    let c = s
        .post("/api/v1/contacts", &t.admin_token, rich(&unique("Reach")))
        .await
        .ok(201)
        .str("id");
    s.get(&path(&c), &other.admin_token)
        .await
        .problem(404, "not_found");
    s.get(&path(&uuid::Uuid::now_v7().to_string()), &t.admin_token)
        .await
        .problem(404, "not_found");

    let own = json!({"subject": "role:salesperson", "object": "contacts", "action": "read", "scope": "own"});
    let tenant_read = json!({"subject": "role:salesperson", "object": "contacts", "action": "read", "scope": "tenant"});
    s.delete("/api/v1/permissions", &t.admin_token, tenant_read)
        .await
        .ok(204);
    s.post("/api/v1/permissions", &t.admin_token, own)
        .await
        .ok(201);
    let sp = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let mut mine = rich(&unique("Mine"));
    mine["assigned_user_id"] = json!(sp.user_id);
    let mine = s
        .post("/api/v1/contacts", &t.admin_token, mine)
        .await
        .ok(201);
    let (status, _) = s.poll_get(&path(&c), &sp.token, 404).await;
    assert_eq!(status.as_u16(), 404);
    s.get(&path(&c), &sp.token).await.problem(404, "not_found");
    let seen = s.get(&path(&mine.str("id")), &sp.token).await.ok(200);
    assert_eq!(bare(&seen), bare(&mine));
    // The list page applies the same check in its one statement.
    let listed: Vec<String> = s.get("/api/v1/contacts", &sp.token).await.ok(200).ids();
    assert_eq!(listed, vec![mine.str("id")]);
}

/// Statements `send` costs the node: the fewest over three tries, since a background task
/// (mail outbox, permission version check) can add one to a single try but not to all.
async fn statements_of<F, Fut>(s: &TestServer, mut send: F) -> u64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut fewest = u64::MAX;
    for i in 0..3 {
        let before = s.statements();
        send(i).await;
        fewest = fewest.min(s.statements() - before);
    }
    fewest
}

/// The targets for reads: a contact of a Go tenant in one statement, of an Expert
/// tenant with the Opel module in two (its extension), a list page in two. They hold once
/// the principal and the tenant facts come from the in-process cache; the counts of creating
/// and changing a contact are printed beside them.
#[tokio::test]
async fn contact_reads_take_the_fewest_statements() {
    let s = TestServer::start().await;
    let go = s.tenant("go").await;
    let c = s
        .post("/api/v1/contacts", &go.admin_token, rich(&unique("Trips")))
        .await
        .ok(201)
        .str("id");
    let get = s.statements_per_get(&path(&c), &go.admin_token).await;
    let list = s
        .statements_per_get("/api/v1/contacts?limit=50", &go.admin_token)
        .await;
    let post = statements_of(&s, |_| {
        let body = rich(&unique("Post"));
        let token = go.admin_token.clone();
        let s = &s;
        async move {
            s.post("/api/v1/contacts", &token, body).await.ok(201);
        }
    })
    .await;
    let patch_name = statements_of(&s, |i| {
        let token = go.admin_token.clone();
        let (s, p) = (&s, path(&c));
        async move {
            s.patch(&p, &token, json!({"first_name": format!("Name {i}")}))
                .await
                .ok(200);
        }
    })
    .await;
    let patch_body = statements_of(&s, |_| {
        let token = go.admin_token.clone();
        let (s, p) = (&s, path(&c));
        let body = rich(&unique("Patch"));
        async move {
            s.patch(&p, &token, body).await.ok(200);
        }
    })
    .await;

    let expert = s.tenant("expert").await;
    let e = s.create_contact(&expert.admin_token).await;
    s.put(
        &format!("/api/v1/contacts/{e}/opel"),
        &expert.admin_token,
        json!({"segment": "fleet", "fleet_code": "AB12345"}),
    )
    .await
    .ok(200);
    let get_opel = s.statements_per_get(&path(&e), &expert.admin_token).await;
    eprintln!(
        "statements: GET contact (go) {get}, GET contact (expert, opel) {get_opel}, \
         list page {list}, POST contact {post}, PATCH name {patch_name}, PATCH whole body, new emails \
         {patch_body}"
    );
    assert!(get <= 1, "GET contact of a Go tenant: {get} statements");
    assert!(
        get_opel <= 2,
        "GET contact with Opel: {get_opel} statements"
    );
    assert!(list <= 2, "list page: {list} statements");

    // Below tenant scope the company of the caller's site decides what they see; it comes
    // with the tenant's facts kept in process, so an own-scope salesperson's read of their
    // contact is one statement too.
    let seller = s
        .create_user(
            &go.admin_token,
            &["salesperson"],
            Some(&go.establishment_id),
        )
        .await;
    let mine = s
        .post(
            "/api/v1/contacts",
            &go.admin_token,
            json!({"kind": "person", "last_name": unique("Mine"), "emails": [unique_email("mine")], "assigned_user_id": seller.user_id}),
        )
        .await
        .ok(201)
        .str("id");
    let get_own = s.statements_per_get(&path(&mine), &seller.token).await;
    assert!(
        get_own <= 1,
        "GET contact as an own-scope salesperson: {get_own} statements"
    );
}
