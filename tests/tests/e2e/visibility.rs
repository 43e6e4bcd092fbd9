//! What one user of a tenant sees of another's records (issue 9, items 1, 2, 3, 14, 17): the
//! cached search never hands one caller's answer to another who sees less, the scope is part
//! of the search so its limit counts only visible contacts, a switched-off module's terms stop
//! matching, a tenant-scope grant sees every company's contacts, and the activity log shows
//! an entry only to those who may read its record.

use forecourt_tests::{Account, Expect, Json, Tenant, TestServer, unique, unique_email};
use futures::StreamExt;
use serde_json::{Value, json};

/// Managers read contacts at establishment scope instead of the default tenant scope.
async fn narrow_manager_contacts(s: &TestServer, t: &Tenant) {
    let tenant_read = json!({"subject": "role:manager", "object": "contacts", "action": "read", "scope": "tenant"});
    s.delete("/api/v1/permissions", &t.admin_token, tenant_read)
        .await
        .ok(204);
}

/// The ids both searches answer (`/contacts?q=` and `/search?q=`), checked to agree.
async fn found(s: &TestServer, token: &str, q: &str) -> Vec<String> {
    let listed = s
        .get(&format!("/api/v1/contacts?q={q}"), token)
        .await
        .ok(200)
        .ids();
    let global: Vec<String> =
        s.get(&format!("/api/v1/search?q={q}"), token).await.ok(200)["contacts"]
            .as_array()
            .map(|a| a.iter().map(|c| c.str("id")).collect())
            .unwrap_or_default();
    let (mut a, mut b) = (listed.clone(), global);
    a.sort();
    b.sort();
    assert_eq!(a, b, "/contacts?q= and /search?q= disagree for {q:?}");
    listed
}

async fn contact(s: &TestServer, token: &str, body: Value) -> String {
    s.post("/api/v1/contacts", token, body)
        .await
        .ok(201)
        .str("id")
}

/// A person named `last` with extra fields.
fn person(last: &str, extra: Value) -> Value {
    let mut body = json!({"kind": "person", "first_name": "Gerard", "last_name": last, "emails": [unique_email("c")]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

/// A word made only of letters, unique to this run, so searches find only this test's rows.
fn word() -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    id[20..]
        .chars()
        .map(|c| match c.to_digit(16) {
            Some(d) => (b'a' + d as u8) as char,
            None => c,
        })
        .collect()
}

#[tokio::test]
async fn cached_searches_are_never_shared_with_a_caller_who_sees_less() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (_c2, e2) = s.second_site(&t).await;
    narrow_manager_contacts(&s, &t).await;
    let a = s
        .create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await;
    let b = s
        .create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await;
    let name = word();
    // At the other site, but assigned to A: A sees it, B (same site as A) does not.
    let x = contact(
        &s,
        &t.admin_token,
        person(
            &name,
            json!({"establishment_id": e2, "assigned_user_id": a.user_id}),
        ),
    )
    .await;
    assert_eq!(found(&s, &a.token, &name).await, vec![x.clone()]);
    s.get(&format!("/api/v1/contacts/{x}"), &b.token)
        .await
        .problem(404, "not_found");
    assert_eq!(
        found(&s, &b.token, &name).await,
        Vec::<String>::new(),
        "B was handed A's cached search"
    );
    // Typed letter by letter, A's keystrokes cache candidate sets that B's must never read;
    // A finds the contact from the first letter that narrows to it, B at none.
    for n in 1..=name.len() {
        let typed = format!("gerard%20{}", &name[..n]);
        assert!(
            found(&s, &a.token, &typed).await.contains(&x),
            "A, {typed:?}"
        );
        assert!(
            !found(&s, &b.token, &typed).await.contains(&x),
            "B was handed A's cached keystroke {typed:?}"
        );
    }

    // Users attached to no establishment do not share one entry either.
    let u1 = s.create_user(&t.admin_token, &["manager"], None).await;
    let u2 = s.create_user(&t.admin_token, &["manager"], None).await;
    let other = word();
    let y = contact(
        &s,
        &t.admin_token,
        person(
            &other,
            json!({"establishment_id": e2, "assigned_user_id": u1.user_id}),
        ),
    )
    .await;
    assert_eq!(found(&s, &u1.token, &other).await, vec![y.clone()]);
    assert_eq!(found(&s, &u2.token, &other).await, Vec::<String>::new());
    s.get(&format!("/api/v1/contacts/{y}"), &u2.token)
        .await
        .problem(404, "not_found");
    // The admin (tenant scope) still finds both.
    assert_eq!(found(&s, &t.admin_token, &name).await, vec![x]);
    assert_eq!(found(&s, &t.admin_token, &other).await, vec![y]);
}

#[tokio::test]
async fn search_limit_counts_only_the_contacts_the_caller_may_see() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
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
    let name = word();
    // 520 namesakes the salesperson may not see, created newest-first ranking aside: the
    // old search cut the candidates to 500 before applying the scope.
    let bodies: Vec<Value> = (0..520).map(|_| person(&name, json!({}))).collect();
    let created: Vec<u16> = futures::stream::iter(bodies)
        .map(|b| {
            let s = &s;
            let tok = t.admin_token.clone();
            async move { s.post("/api/v1/contacts", &tok, b).await.0.as_u16() }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(created.iter().all(|c| *c == 201), "{created:?}");
    let mine = contact(&s, &sp.token, person(&name, json!({}))).await;
    assert_eq!(found(&s, &sp.token, &name).await, vec![mine.clone()]);
    assert_eq!(
        found(&s, &sp.token, &format!("gerard {name}")).await,
        vec![mine]
    );
    // The admin gets a full page of them.
    let page = s
        .get(
            &format!("/api/v1/contacts?q={name}&limit=200"),
            &t.admin_token,
        )
        .await
        .ok(200)
        .ids();
    assert_eq!(page.len(), 200);
}

#[tokio::test]
async fn a_switched_off_modules_terms_no_longer_find_the_contact() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let c = s.create_contact(&t.admin_token).await;
    let code = format!("FX{}9", &word()[..7]).to_ascii_uppercase();
    s.put(
        &format!("/api/v1/contacts/{c}/opel"),
        &t.admin_token,
        json!({"segment": "fleet", "fleet_code": code}),
    )
    .await
    .ok(200);
    let q = code.to_ascii_lowercase();
    assert_eq!(found(&s, &t.admin_token, &q).await, vec![c.clone()]);
    let toggle = |on: bool| json!({"module": "opel", "enabled": on});
    s.patch("/api/v1/settings/modules", &t.admin_token, toggle(false))
        .await
        .ok(200);
    assert_eq!(
        found(&s, &t.admin_token, &q).await,
        Vec::<String>::new(),
        "a switched-off module's fleet code still finds the contact"
    );
    // The contact's own fields still find it.
    let me = s
        .get(&format!("/api/v1/contacts/{c}"), &t.admin_token)
        .await
        .ok(200);
    let last = me.str("last_name").to_ascii_lowercase();
    assert_eq!(found(&s, &t.admin_token, &last).await, vec![c.clone()]);
    s.patch("/api/v1/settings/modules", &t.admin_token, toggle(true))
        .await
        .ok(200);
    assert_eq!(found(&s, &t.admin_token, &q).await, vec![c]);
}

#[tokio::test]
async fn a_tenant_scope_grant_sees_every_companys_contacts() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (c2, e2) = s.second_site(&t).await;
    let name = word();
    // The onboarded admin belongs to the first site; the contact is kept to the second company.
    let kept = contact(
        &s,
        &t.admin_token,
        person(&name, json!({"company_id": c2, "establishment_id": e2})),
    )
    .await;
    let got = s
        .get(&format!("/api/v1/contacts/{kept}"), &t.admin_token)
        .await
        .ok(200);
    assert_eq!(got["company_id"], c2.as_str());
    assert_eq!(found(&s, &t.admin_token, &name).await, vec![kept.clone()]);
    let listed = s
        .get("/api/v1/contacts", &t.admin_token)
        .await
        .ok(200)
        .ids();
    assert!(listed.contains(&kept), "{listed:?}");
    // A manager keeps tenant-wide read by default: he sees it too.
    let m = s
        .create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await;
    s.get(&format!("/api/v1/contacts/{kept}"), &m.token)
        .await
        .ok(200);
    // Below tenant scope, a contact kept to another company stays out of reach, even when it
    // is assigned to the caller's site.
    narrow_manager_contacts(&s, &t).await;
    let kept_here = contact(
        &s,
        &t.admin_token,
        person(
            &name,
            json!({"company_id": c2, "establishment_id": t.establishment_id}),
        ),
    )
    .await;
    for id in [&kept, &kept_here] {
        s.get(&format!("/api/v1/contacts/{id}"), &m.token)
            .await
            .problem(404, "not_found");
    }
    assert_eq!(found(&s, &m.token, &name).await, Vec::<String>::new());

    // Having no establishment is not a wider view than having one: such a user reaches only
    // the shared contacts assigned to them, never one kept to a company.
    let loose = s.create_user(&t.admin_token, &["manager"], None).await;
    let kept_for_loose = contact(
        &s,
        &t.admin_token,
        person(
            &name,
            json!({"company_id": c2, "establishment_id": e2, "assigned_user_id": loose.user_id}),
        ),
    )
    .await;
    let shared_for_loose = contact(
        &s,
        &t.admin_token,
        person(
            &name,
            json!({"establishment_id": e2, "assigned_user_id": loose.user_id}),
        ),
    )
    .await;
    s.get(&format!("/api/v1/contacts/{kept_for_loose}"), &loose.token)
        .await
        .problem(404, "not_found");
    s.get(
        &format!("/api/v1/contacts/{shared_for_loose}"),
        &loose.token,
    )
    .await
    .ok(200);
    assert_eq!(found(&s, &loose.token, &name).await, vec![shared_for_loose]);
}

/// The activity entries `token` gets, optionally for one record.
async fn activity(s: &TestServer, token: &str, entity: Option<(&str, &str)>) -> Value {
    let path = match entity {
        Some((ty, id)) => format!("/api/v1/activity?entity_type={ty}&entity_id={id}&limit=200"),
        None => "/api/v1/activity?limit=200".to_string(),
    };
    s.get(&path, token).await.ok(200)
}

fn entity_ids(page: &Value) -> Vec<String> {
    page.items().iter().map(|e| e.str("entity_id")).collect()
}

async fn manager(s: &TestServer, t: &Tenant) -> Account {
    s.create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await
}

#[tokio::test]
async fn activity_of_an_opportunity_is_shown_only_to_who_may_read_it() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (_c2, e2) = s.second_site(&t).await;
    let m = manager(&s, &t).await;
    let c = s.create_contact(&t.admin_token).await;
    let secret = unique("secret comment");
    let opp = s
        .post(
            "/api/v1/opportunities",
            &t.admin_token,
            json!({"contacts": [{"contact_id": c}], "establishment_id": e2, "customer_info": "wants a van"}),
        )
        .await
        .ok(201);
    let o = opp["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| opp.str("id"));
    s.post(
        &format!("/api/v1/opportunities/{o}/comments"),
        &t.admin_token,
        json!({"text": secret}),
    )
    .await
    .ok(201);
    s.get(&format!("/api/v1/opportunities/{o}"), &m.token)
        .await
        .problem(404, "not_found");
    let own = activity(&s, &m.token, Some(("opportunity", &o))).await;
    assert!(own.items().is_empty(), "{own}");
    let all = activity(&s, &m.token, None).await;
    assert!(!entity_ids(&all).contains(&o), "{all}");
    assert!(!all.to_string().contains(&secret));
    // The admin sees the whole history, comment included.
    let admin = activity(&s, &t.admin_token, Some(("opportunity", &o))).await;
    assert!(admin.to_string().contains(&secret), "{admin}");
    // A manager of that site sees it too.
    let m2 = s.create_user(&t.admin_token, &["manager"], Some(&e2)).await;
    let theirs = activity(&s, &m2.token, Some(("opportunity", &o))).await;
    assert!(theirs.to_string().contains(&secret), "{theirs}");
}

#[tokio::test]
async fn activity_of_contacts_follows_their_scope_sharing_and_deletion() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (c2, e2) = s.second_site(&t).await;
    narrow_manager_contacts(&s, &t).await;
    let m = manager(&s, &t).await;
    let hidden_email = unique_email("kept");
    let kept = contact(
        &s,
        &t.admin_token,
        json!({"kind": "person", "first_name": "Kept", "last_name": unique("Away"), "emails": [hidden_email], "company_id": c2, "establishment_id": e2}),
    )
    .await;
    let here = contact(&s, &t.admin_token, person(&word(), json!({}))).await;
    let seen = activity(&s, &m.token, None).await;
    let ids = entity_ids(&seen);
    assert!(
        ids.contains(&here),
        "the manager's own site's contact: {seen}"
    );
    assert!(!ids.contains(&kept), "{seen}");
    assert!(!seen.to_string().contains(&hidden_email));
    // Grants name no record: only readers of permissions (the admin) see those entries.
    assert!(
        seen.items()
            .iter()
            .all(|e| e["entity_type"] != "permission"),
        "{seen}"
    );
    let admin = activity(&s, &t.admin_token, None).await;
    assert!(entity_ids(&admin).contains(&kept));
    assert!(
        admin
            .items()
            .iter()
            .any(|e| e["entity_type"] == "permission"),
        "{admin}"
    );

    // Once deleted, a record's history is for admins only.
    s.delete(
        &format!("/api/v1/contacts/{here}"),
        &t.admin_token,
        json!(null),
    )
    .await;
    s.get(&format!("/api/v1/contacts/{here}"), &t.admin_token)
        .await
        .problem(404, "not_found");
    let after = activity(&s, &m.token, Some(("contact", &here))).await;
    assert!(after.items().is_empty(), "{after}");
    let admin = activity(&s, &t.admin_token, Some(("contact", &here))).await;
    assert!(!admin.items().is_empty(), "{admin}");
}
