//! Lists a front end can use (issue 13): every filter and sort of the contacts, opportunities
//! and tasks lists, keyset paging that stays correct while rows are inserted, the optional
//! `total`, unknown parameters and sort fields refused, visibility kept through every filter
//! and another tenant's ids finding nothing.

use chrono::{DateTime, Duration, TimeZone, Utc};
use forecourt_tests::{Expect, Json, Tenant, TestServer, unique, unique_email};
use serde_json::{Value, json};

const CONTACTS: &str = "/api/v1/contacts";
const OPPS: &str = "/api/v1/opportunities";
const TASKS: &str = "/api/v1/tasks";

/// 2026-03-10T12:00:00Z: the clocked tests' first instant.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

/// `path` with one more query parameter.
fn with(path: &str, param: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{param}")
}

/// The ids of the one page `path` answers (asserting it is the last).
async fn ids(s: &TestServer, path: &str, token: &str) -> Ids {
    let page = s.get(path, token).await.ok(200);
    assert!(page["next_cursor"].is_null(), "{path}: more than one page");
    Ids(page.ids())
}

/// The ids a list answered, in its order; compared with the ids a test holds.
#[derive(Debug)]
struct Ids(Vec<String>);

impl PartialEq<Vec<&String>> for Ids {
    fn eq(&self, other: &Vec<&String>) -> bool {
        self.0.iter().eq(other.iter().copied())
    }
}

impl<const N: usize> PartialEq<[&String; N]> for Ids {
    fn eq(&self, other: &[&String; N]) -> bool {
        self.0.iter().eq(other.iter().copied())
    }
}

impl Ids {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Every id of `path`, following the cursor.
async fn all_pages(s: &TestServer, path: &str, token: &str) -> Ids {
    let mut ids = Vec::new();
    let mut next = path.to_string();
    loop {
        let page = s.get(&next, token).await.ok(200);
        ids.extend(page.ids());
        match page["next_cursor"].as_str() {
            Some(c) => next = with(path, &format!("cursor={c}")),
            None => return Ids(ids),
        }
    }
}

/// Asserts that `path` lists `want` in this order, in one page and page by page (one row a
/// page: every cursor crosses rows, equal sort values included).
async fn in_order(s: &TestServer, path: &str, token: &str, want: &Vec<&String>) {
    assert_eq!(ids(s, path, token).await, *want, "{path}");
    let paged = all_pages(s, &with(path, "limit=1"), token).await;
    assert_eq!(paged, *want, "{path}, one by one");
}

/// Creates a contact from `body` (a person named `last_name` when the body names nobody).
async fn contact(s: &TestServer, token: &str, extra: Value) -> String {
    let mut body = json!({"kind": "person", "first_name": "Jan", "last_name": unique("P"),
                          "emails": [unique_email("list")]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    s.post(CONTACTS, token, body).await.ok(201).str("id")
}

/// Creates an opportunity from `extra` on `contact_id` and returns its id.
async fn opp(s: &TestServer, token: &str, contact_id: &str, extra: Value) -> String {
    let mut body = json!({"contacts": [{"contact_id": contact_id}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    s.post(OPPS, token, body).await.ok(201).str("id")
}

/// Creates a team of the tenant with `members` and returns its id.
async fn team(s: &TestServer, t: &Tenant, members: &[&str]) -> String {
    s.post(
        "/api/v1/teams",
        &t.admin_token,
        json!({"name": unique("Team"), "member_ids": members}),
    )
    .await
    .ok(201)
    .str("id")
}

#[tokio::test]
async fn opportunity_filters_keep_the_right_rows() {
    let (s, clock) = TestServer::start_clocked(t0(), |cfg| cfg.expiry_sweep_secs = 3600).await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let bob = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    let (_, site2) = s.second_site(&t).await;
    let crew = team(&s, &t, &[&t.admin_user_id]).await;
    let source = s.create_source(tok).await.str("id");
    let (c1, c2) = (
        contact(&s, tok, json!({})).await,
        contact(&s, tok, json!({})).await,
    );
    let o1 = opp(
        &s,
        tok,
        &c1,
        json!({"assigned_user_id": bob.id, "source_id": source}),
    )
    .await;
    clock.set(t0() + Duration::days(1));
    let o2 = opp(
        &s,
        tok,
        &c2,
        json!({"status": "taken_in_charge", "assigned_team_id": crew, "establishment_id": site2}),
    )
    .await;
    clock.set(t0() + Duration::days(2));
    let o3 = opp(&s, tok, &c1, json!({})).await;
    s.post(
        &format!("{OPPS}/{o3}/status"),
        tok,
        json!({"status": "won"}),
    )
    .await
    .ok(200);
    clock.set(t0() + Duration::days(5));
    s.patch(
        &format!("{OPPS}/{o1}"),
        tok,
        json!({"customer_info": "called back"}),
    )
    .await
    .ok(200);

    let cases: Vec<(String, Vec<&String>)> = vec![
        ("status=new".into(), vec![&o1]),
        ("status=taken_in_charge".into(), vec![&o2]),
        ("kind=open".into(), vec![&o1, &o2]),
        ("kind=won".into(), vec![&o3]),
        ("kind=lost".into(), vec![]),
        (format!("assigned_user_id={}", bob.id), vec![&o1]),
        (format!("assigned_team_id={crew}"), vec![&o2]),
        (format!("establishment_id={site2}"), vec![&o2]),
        (
            format!("establishment_id={}", t.establishment_id),
            vec![&o1, &o3],
        ),
        (format!("source_id={source}"), vec![&o1]),
        (format!("contact_id={c1}"), vec![&o1, &o3]),
        (format!("contact_id={c1}&kind=open"), vec![&o1]),
        // A plain date stands for its midnight (UTC); a date-time is taken as it is.
        ("created_after=2026-03-11".into(), vec![&o2, &o3]),
        ("created_before=2026-03-11".into(), vec![&o1]),
        ("created_after=2026-03-11T12:00:00Z".into(), vec![&o2, &o3]),
        ("created_after=2026-03-11T12:00:01Z".into(), vec![&o3]),
        ("created_before=2026-03-11T12:00:00Z".into(), vec![&o1]),
        ("updated_after=2026-03-14".into(), vec![&o1]),
        ("updated_before=2026-03-14".into(), vec![&o2, &o3]),
        (
            "created_after=2026-03-11&created_before=2026-03-12".into(),
            vec![&o2],
        ),
    ];
    for (query, want) in cases {
        let got = ids(&s, &format!("{OPPS}?{query}"), tok).await;
        assert_eq!(got, want, "{query}");
    }

    // `expired`: evaluated by the sweep 60 days on; the exempt and the won one stay.
    let db = forecourt_core::db::connect(&s.config.database_url())
        .await
        .unwrap();
    let tenant = uuid::Uuid::parse_str(&t.tenant_id).unwrap();
    forecourt_crm::expiry::service::sweep_tenant(&db, tenant, t0() + Duration::days(60))
        .await
        .unwrap();
    assert_eq!(ids(&s, &format!("{OPPS}?expired=true"), tok).await, [&o1]);
    assert_eq!(
        ids(&s, &format!("{OPPS}?expired=false"), tok).await,
        [&o2, &o3]
    );
    // Who may not see the flag may not filter by it either (a fresh session: the clock moved).
    let bob_token = s.login(&bob.email, &bob.password).await;
    s.get(&format!("{OPPS}?expired=true"), &bob_token)
        .await
        .invalid("expired");
    // Values that are not values.
    for (query, field) in [
        ("created_after=yesterday", "created_after"),
        ("updated_before=2026-02-30", "updated_before"),
        ("created_after=3026-01-01", "created_after"),
        ("kind=closed", "kind"),
    ] {
        s.get(&format!("{OPPS}?{query}"), tok).await.invalid(field);
    }
}

#[tokio::test]
async fn contact_filters_keep_the_right_rows() {
    let (s, clock) = TestServer::start_clocked(t0(), |_| {}).await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let bob = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    let (company2, site2) = s.second_site(&t).await;
    let crew = team(&s, &t, &[&t.admin_user_id]).await;
    let a = contact(
        &s,
        tok,
        json!({"lifecycle": "customer", "groups": ["vip"], "assigned_user_id": bob.id}),
    )
    .await;
    let b = contact(
        &s,
        tok,
        json!({"blocked": true, "company_id": company2, "establishment_id": site2,
               "assigned_team_id": crew, "groups": ["fleet", "vip-light"]}),
    )
    .await;
    let c = contact(&s, tok, json!({"groups": ["fleet"]})).await;
    clock.set(t0() + Duration::days(3));
    s.patch(
        &format!("{CONTACTS}/{c}"),
        tok,
        json!({"comments": "moved"}),
    )
    .await
    .ok(200);

    let cases: Vec<(String, Vec<&String>)> = vec![
        ("lifecycle=customer".into(), vec![&a]),
        ("lifecycle=prospect".into(), vec![&b, &c]),
        ("prospect_status=new".into(), vec![&b, &c]),
        ("group=vip".into(), vec![&a]),
        ("group=fleet".into(), vec![&b, &c]),
        ("group=nobody".into(), vec![]),
        ("blocked=true".into(), vec![&b]),
        ("blocked=false".into(), vec![&a, &c]),
        (format!("assigned_user_id={}", bob.id), vec![&a]),
        (format!("assigned_team_id={crew}"), vec![&b]),
        (format!("establishment_id={site2}"), vec![&b]),
        (format!("company_id={company2}"), vec![&b]),
        ("updated_since=2026-03-12".into(), vec![&c]),
        ("updated_since=2026-03-13T12:00:00Z".into(), vec![&c]),
        ("updated_since=2026-03-13T12:00:01Z".into(), vec![]),
        ("group=fleet&blocked=false".into(), vec![&c]),
    ];
    for (query, want) in cases {
        let got = ids(&s, &format!("{CONTACTS}?{query}"), tok).await;
        assert_eq!(got, want, "{query}");
    }
    s.get(&format!("{CONTACTS}?updated_since=12/03/2026"), tok)
        .await
        .invalid("updated_since");
    // A search ranks every match: the list's filters and order are refused with `q`.
    for (query, field) in [
        ("group=vip", "group"),
        ("sort=name", "sort"),
        ("count=true", "count"),
    ] {
        s.get(&format!("{CONTACTS}?q=jan&{query}"), tok)
            .await
            .invalid(field);
    }
}

#[tokio::test]
async fn sorts_order_by_the_field_then_by_the_id() {
    let (s, clock) = TestServer::start_clocked(t0(), |_| {}).await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let named = |last: &str| json!({"last_name": format!("{last}{}", unique(""))});
    // x1..x3 at the same instant, x4 a day earlier but last in id order; x2 and x3 share a
    // name (a unique tail is added to each, so the names are compared on their first words).
    let same = unique("Adams");
    let x1 = contact(&s, tok, named("Zed")).await;
    let x2 = contact(&s, tok, json!({"last_name": same})).await;
    let x3 = contact(&s, tok, json!({"last_name": same})).await;
    clock.set(t0() - Duration::days(1));
    let x4 = contact(&s, tok, named("Mills")).await;
    clock.set(t0() + Duration::days(1));
    s.patch(
        &format!("{CONTACTS}/{x1}"),
        tok,
        json!({"comments": "seen"}),
    )
    .await
    .ok(200);

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("", vec![&x1, &x2, &x3, &x4]),
        ("sort=created_at", vec![&x4, &x1, &x2, &x3]),
        ("sort=-created_at", vec![&x3, &x2, &x1, &x4]),
        ("sort=updated_at", vec![&x4, &x2, &x3, &x1]),
        ("sort=-updated_at", vec![&x1, &x3, &x2, &x4]),
        ("sort=name", vec![&x2, &x3, &x4, &x1]),
        ("sort=-name", vec![&x1, &x4, &x3, &x2]),
    ];
    for (sort, want) in &cases {
        in_order(&s, &with(CONTACTS, sort), tok, want).await;
    }

    // Opportunities: the same rule on their own fields.
    clock.set(t0());
    let (o1, o2, o3) = (
        opp(&s, tok, &x1, json!({})).await,
        opp(&s, tok, &x2, json!({})).await,
        opp(&s, tok, &x3, json!({})).await,
    );
    clock.set(t0() + Duration::days(2));
    s.patch(&format!("{OPPS}/{o1}"), tok, json!({"customer_info": "x"}))
        .await
        .ok(200);
    for (sort, want) in [
        ("sort=created_at", vec![&o1, &o2, &o3]),
        ("sort=-created_at", vec![&o3, &o2, &o1]),
        ("sort=updated_at", vec![&o2, &o3, &o1]),
        ("sort=-updated_at", vec![&o1, &o3, &o2]),
    ] {
        in_order(&s, &with(OPPS, sort), tok, &want).await;
    }

    // What the lists refuse, each naming what is wrong.
    let bad = s
        .get(&format!("{CONTACTS}?sort=colour"), tok)
        .await
        .invalid("sort");
    assert!(
        bad["detail"].as_str().unwrap().contains("updated_at"),
        "{bad}"
    );
    s.get(&format!("{OPPS}?sort=-name"), tok)
        .await
        .invalid("sort");
    s.get(&format!("{CONTACTS}?colour=red"), tok)
        .await
        .invalid("colour");
    s.get(&format!("{OPPS}?lifecycle=customer"), tok)
        .await
        .invalid("lifecycle");
    s.get(&format!("{TASKS}?status=new"), tok)
        .await
        .invalid("status");
    // A cursor is good for the sort it was made for only; garbage is no cursor.
    let by_name = s
        .get(&format!("{CONTACTS}?sort=name&limit=1"), tok)
        .await
        .ok(200);
    let cursor = by_name.str("next_cursor");
    s.get(&format!("{CONTACTS}?sort=-name&cursor={cursor}"), tok)
        .await
        .invalid("cursor");
    s.get(&format!("{CONTACTS}?cursor={cursor}"), tok)
        .await
        .invalid("cursor");
    s.get(&format!("{CONTACTS}?cursor=bm90IGEgY3Vyc29y"), tok)
        .await
        .invalid("cursor");
    // The cursors the lists answered before sorting existed (the last id) still work.
    assert_eq!(
        ids(&s, &format!("{CONTACTS}?cursor={x1}"), tok).await,
        [&x2, &x3, &x4]
    );
    s.get(&format!("{CONTACTS}?sort=name&cursor={x1}"), tok)
        .await
        .invalid("cursor");
}

#[tokio::test]
async fn paging_while_rows_are_inserted_yields_every_row_once() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let who = contact(&s, tok, json!({})).await;
    let mut originals = Vec::new();
    for _ in 0..7 {
        originals.push(opp(&s, tok, &who, json!({})).await);
    }
    for sort in [
        "",
        "sort=created_at",
        "sort=-created_at",
        "sort=-updated_at",
    ] {
        let path = with(&with(OPPS, sort), "limit=2");
        let mut seen = Vec::new();
        let mut next = path.clone();
        loop {
            let page = s.get(&next, tok).await.ok(200);
            seen.extend(page.ids());
            // Someone adds a lead between two pages.
            opp(&s, tok, &who, json!({})).await;
            match page["next_cursor"].as_str() {
                Some(c) => next = with(&path, &format!("cursor={c}")),
                None => break,
            }
        }
        for o in &originals {
            let n = seen.iter().filter(|i| *i == o).count();
            assert_eq!(n, 1, "{sort}: {o} seen {n} times in {seen:?}");
        }
        let mut unique_seen = seen.clone();
        unique_seen.sort();
        unique_seen.dedup();
        assert_eq!(unique_seen.len(), seen.len(), "{sort}: a row came twice");
    }
    // By name: rows added before and after the page being read.
    let mut names = Vec::new();
    for i in 0..6 {
        names.push(contact(&s, tok, json!({"last_name": format!("M{i}{}", unique(""))})).await);
    }
    let path = format!("{CONTACTS}?sort=name&limit=2");
    let mut seen = Vec::new();
    let mut next = path.clone();
    loop {
        let page = s.get(&next, tok).await.ok(200);
        seen.extend(page.ids());
        for first in ["A", "Z"] {
            contact(
                &s,
                tok,
                json!({"last_name": format!("{first}{}", unique(""))}),
            )
            .await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => next = with(&path, &format!("cursor={c}")),
            None => break,
        }
    }
    for c in names.iter().chain([&who]) {
        assert_eq!(
            seen.iter().filter(|i| *i == c).count(),
            1,
            "{c} in {seen:?}"
        );
    }
}

#[tokio::test]
async fn total_only_when_asked() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let c = contact(&s, tok, json!({"groups": ["counted"]})).await;
    contact(&s, tok, json!({"groups": ["counted"]})).await;
    contact(&s, tok, json!({})).await;
    for _ in 0..3 {
        opp(&s, tok, &c, json!({})).await;
    }
    let page = s
        .get(&format!("{CONTACTS}?group=counted&count=true&limit=1"), tok)
        .await
        .ok(200);
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(page.items().len(), 1);
    let page = s.get(&format!("{CONTACTS}?count=true"), tok).await.ok(200);
    assert_eq!(page["total"], 3, "{page}");
    let page = s
        .get(&format!("{CONTACTS}?group=counted"), tok)
        .await
        .ok(200);
    assert!(page.get("total").is_none(), "{page}");
    let page = s
        .get(&format!("{OPPS}?count=true&limit=2&sort=-created_at"), tok)
        .await
        .ok(200);
    assert_eq!(page["total"], 3, "{page}");
    assert!(page["next_cursor"].is_string());
    let page = s.get(&format!("{OPPS}?count=false"), tok).await.ok(200);
    assert!(page.get("total").is_none(), "{page}");
    let page = s
        .get(&format!("{OPPS}?count=true&kind=won"), tok)
        .await
        .ok(200);
    assert_eq!(page["total"], 0, "{page}");
}

#[tokio::test]
async fn tasks_list_across_the_opportunities_in_reach() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let bob = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    let who = contact(&s, tok, json!({})).await;
    let bobs = opp(&s, tok, &who, json!({"assigned_user_id": bob.id})).await;
    let admins = opp(&s, tok, &who, json!({"assigned_user_id": t.admin_user_id})).await;
    let task = |o: &str, due: &str, assignee: &str, done: bool| {
        let path = format!("{OPPS}/{o}/tasks");
        let body = json!({"title": unique("Call"), "due_at": due, "assignee_id": assignee,
                          "done": done});
        let s = &s;
        async move { s.post(&path, tok, body).await.ok(201).str("id") }
    };
    let t1 = task(&bobs, "2026-04-01T09:00:00Z", &bob.id, false).await;
    // A fraction of a second and a zone: compared as instants, not as text.
    let t2 = task(&bobs, "2026-03-20T10:00:00.5+01:00", &t.admin_user_id, true).await;
    let t3 = task(&admins, "2026-03-25T09:00:00Z", &bob.id, false).await;
    let t4 = task(&admins, "2026-03-20T09:00:00Z", &bob.id, false).await;

    let cases: Vec<(String, Vec<&String>)> = vec![
        (String::new(), vec![&t1, &t2, &t3, &t4]),
        (format!("assigned_user_id={}", bob.id), vec![&t1, &t3, &t4]),
        ("mine=true".into(), vec![&t2]),
        ("done=true".into(), vec![&t2]),
        ("done=false".into(), vec![&t1, &t3, &t4]),
        ("due_before=2026-03-26".into(), vec![&t2, &t3, &t4]),
        ("due_after=2026-03-26".into(), vec![&t1]),
        (
            "due_after=2026-03-20T09:00:00.4Z".into(),
            vec![&t1, &t2, &t3],
        ),
        ("due_before=2026-03-20T09:00:00Z".into(), vec![]),
        (format!("opportunity_id={bobs}"), vec![&t1, &t2]),
        ("sort=due_at".into(), vec![&t4, &t2, &t3, &t1]),
        ("sort=-due_at".into(), vec![&t1, &t3, &t2, &t4]),
        ("sort=-created_at".into(), vec![&t4, &t3, &t2, &t1]),
    ];
    for (query, want) in cases {
        in_order(&s, &with(TASKS, &query), tok, &want).await;
    }
    let page = s
        .get(&format!("{TASKS}?done=false&count=true&limit=1"), tok)
        .await
        .ok(200);
    assert_eq!(page["total"], 3, "{page}");
    let item = &s
        .get(
            &format!("{TASKS}?opportunity_id={admins}&sort=due_at&limit=1"),
            tok,
        )
        .await
        .ok(200)
        .items()[0];
    assert_eq!(item["opportunity_id"], admins.as_str());
    assert_eq!(item["assignee_id"], bob.id.as_str());
    assert_eq!(item["done"], false);
    // Bob reaches only his own opportunity: its tasks, whoever they are for.
    assert_eq!(ids(&s, TASKS, &bob.token).await, [&t1, &t2]);
    assert_eq!(
        ids(&s, &format!("{TASKS}?mine=true"), &bob.token).await,
        [&t1]
    );
    assert_eq!(
        ids(&s, &format!("{TASKS}?opportunity_id={admins}"), &bob.token).await,
        []
    );
    s.get(
        &format!("{TASKS}?mine=true&assigned_user_id={}", bob.id),
        tok,
    )
    .await
    .invalid("mine");
    s.get(&format!("{TASKS}?sort=title"), tok)
        .await
        .invalid("sort");
    s.get(&format!("{TASKS}?due_after=soon"), tok)
        .await
        .invalid("due_after");
}

#[tokio::test]
async fn an_own_scope_sees_only_its_own_through_every_filter() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    for (object, scope) in [("contacts", "tenant")] {
        s.delete(
            "/api/v1/permissions",
            tok,
            json!({"subject": "role:salesperson", "object": object, "action": "read", "scope": scope}),
        )
        .await
        .ok(204);
    }
    s.post(
        "/api/v1/permissions",
        tok,
        json!({"subject": "role:salesperson", "object": "contacts", "action": "read", "scope": "own"}),
    )
    .await
    .ok(201);
    let bob = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    let source = s.create_source(tok).await.str("id");
    let extra = |user: &str| json!({"assigned_user_id": user, "groups": ["g"], "establishment_id": t.establishment_id});
    let mine_c = contact(&s, tok, extra(&bob.id)).await;
    let other_c = contact(&s, tok, extra(&t.admin_user_id)).await;
    let body = |user: &str| json!({"assigned_user_id": user, "source_id": source});
    let mine_o = opp(&s, tok, &mine_c, body(&bob.id)).await;
    opp(&s, tok, &mine_c, body(&t.admin_user_id)).await;
    opp(&s, tok, &other_c, body(&t.admin_user_id)).await;

    let everything = [
        String::new(),
        "status=new".into(),
        "kind=open".into(),
        format!("contact_id={mine_c}"),
        format!("source_id={source}"),
        format!("establishment_id={}", t.establishment_id),
        "created_after=2000-01-01".into(),
        "updated_before=2200-01-01".into(),
        "sort=-created_at".into(),
    ];
    for query in &everything {
        let page = s
            .get(&with(&with(OPPS, query), "count=true"), &bob.token)
            .await
            .ok(200);
        assert_eq!(Ids(page.ids()), [&mine_o], "{query}");
        assert_eq!(page["total"], 1, "{query}");
    }
    let others = format!("assigned_user_id={}", t.admin_user_id);
    assert!(ids(&s, &with(OPPS, &others), &bob.token).await.is_empty());
    assert_eq!(ids(&s, &with(OPPS, &others), tok).await.len(), 2);
    for query in [
        String::new(),
        "group=g".into(),
        "lifecycle=prospect".into(),
        format!("establishment_id={}", t.establishment_id),
        "blocked=false".into(),
        "updated_since=2000-01-01".into(),
        "sort=name".into(),
    ] {
        let page = s
            .get(&with(&with(CONTACTS, &query), "count=true"), &bob.token)
            .await
            .ok(200);
        assert_eq!(Ids(page.ids()), [&mine_c], "{query}");
        assert_eq!(page["total"], 1, "{query}");
    }
    assert!(
        ids(&s, &with(CONTACTS, &others), &bob.token)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn another_tenants_ids_in_filters_find_nothing() {
    let s = TestServer::start().await;
    let a = s.tenant("expert").await;
    let b = s.tenant("expert").await;
    let (ta, tb) = (a.admin_token.as_str(), b.admin_token.as_str());
    let mut visible = Vec::new();
    for (t, tok) in [(&a, ta), (&b, tb)] {
        let source = s.create_source(tok).await.str("id");
        let c = contact(&s, tok, json!({"company_id": t.company_id})).await;
        let o = opp(&s, tok, &c, json!({"source_id": source})).await;
        s.post(
            &format!("{OPPS}/{o}/tasks"),
            tok,
            json!({"title": "Call", "due_at": "2026-05-01T09:00:00Z", "assignee_id": t.admin_user_id}),
        )
        .await
        .ok(201);
        visible.push((source, c, o));
    }
    let (b_source, b_contact, b_opp) = &visible[1];
    for query in [
        format!("contact_id={b_contact}"),
        format!("source_id={b_source}"),
        format!("assigned_user_id={}", b.admin_user_id),
        format!("establishment_id={}", b.establishment_id),
    ] {
        let page = s
            .get(&with(&with(OPPS, &query), "count=true"), ta)
            .await
            .ok(200);
        assert!(page.items().is_empty(), "{query}: {page}");
        assert_eq!(page["total"], 0);
    }
    for query in [
        format!("company_id={}", b.company_id),
        format!("establishment_id={}", b.establishment_id),
        format!("assigned_user_id={}", b.admin_user_id),
    ] {
        let page = s
            .get(&with(&with(CONTACTS, &query), "count=true"), ta)
            .await
            .ok(200);
        assert!(page.items().is_empty(), "{query}: {page}");
        assert_eq!(page["total"], 0);
    }
    for query in [
        format!("opportunity_id={b_opp}"),
        format!("assigned_user_id={}", b.admin_user_id),
    ] {
        assert!(
            ids(&s, &with(TASKS, &query), ta).await.is_empty(),
            "{query}"
        );
    }
    // Each tenant's own filters still find its own rows, and only those.
    let (a_source, a_contact, a_opp) = &visible[0];
    assert_eq!(
        ids(
            &s,
            &format!("{OPPS}?source_id={a_source}&contact_id={a_contact}"),
            ta
        )
        .await,
        [a_opp]
    );
    assert_eq!(ids(&s, TASKS, tb).await.len(), 1);
    // Another tenant's cursor is only a position: it shows nothing of that tenant.
    let page = s.get(&format!("{OPPS}?cursor={b_opp}"), ta).await.ok(200);
    assert!(!page.ids().contains(b_opp));
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

#[tokio::test]
async fn vehicles_list_filters_and_sorts() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    const VEHICLES: &str = "/api/v1/vehicles";
    let add = |make: &str, price: i64| {
        // Whole numbers: the price reads the same whatever its unit.
        let body = json!({"vin": fresh_vin(), "make": make, "model": "M", "year": 2024,
                          "price": price});
        let s = &s;
        async move { s.post(VEHICLES, tok, body).await.ok(201).str("id") }
    };
    let v1 = add("Opel", 30000).await;
    let v2 = add("Citroen", 20000).await;
    let v3 = add("Opel", 20000).await;
    for (query, want) in [
        ("", vec![&v1, &v2, &v3]),
        ("make=Opel", vec![&v1, &v3]),
        ("status=in_stock", vec![&v1, &v2, &v3]),
        ("status=sold", vec![]),
        ("sort=price", vec![&v2, &v3, &v1]),
        ("sort=-price", vec![&v1, &v3, &v2]),
        ("sort=make", vec![&v2, &v1, &v3]),
        ("sort=-created_at", vec![&v3, &v2, &v1]),
    ] {
        in_order(&s, &with(VEHICLES, query), tok, &want).await;
    }
    let page = s
        .get(&format!("{VEHICLES}?make=Opel&count=true&limit=1"), tok)
        .await
        .ok(200);
    assert_eq!(page["total"], 2, "{page}");
    s.get(&format!("{VEHICLES}?sort=year"), tok)
        .await
        .invalid("sort");
    s.get(&format!("{VEHICLES}?colour=red"), tok)
        .await
        .invalid("colour");
    let other = s.tenant("go").await;
    assert!(
        ids(&s, &format!("{VEHICLES}?make=Opel"), &other.admin_token)
            .await
            .is_empty()
    );
}
