//! Teams (issue 12, item 7): their CRUD and its checks, another tenant's team answering 404,
//! and the `own` scope reaching the contacts and opportunities assigned to a team of the
//! caller, which a removed member loses at once (on every node).

use forecourt_tests::{Account, Expect, Json, Method, PROPAGATION, Tenant, TestServer, unique};
use serde_json::{Value, json};

/// Creates a team (admin token) and returns it.
async fn team(s: &TestServer, t: &Tenant, members: &[&str]) -> Value {
    s.post(
        "/api/v1/teams",
        &t.admin_token,
        json!({"name": unique("Team"), "member_ids": members}),
    )
    .await
    .ok(201)
}

/// PATCHes `path` with `If-Match: tag`.
async fn patch_if(s: &TestServer, path: &str, token: &str, tag: &str, body: Value) -> Patched {
    let r = s
        .send_with(
            Method::PATCH,
            path,
            token,
            &[("content-type", "application/json"), ("if-match", tag)],
            body.to_string().into_bytes(),
        )
        .await;
    Patched {
        status: r.status.as_u16(),
        etag: r.header("etag").to_string(),
        body: r.body,
    }
}

/// What a conditional PATCH answered.
struct Patched {
    status: u16,
    etag: String,
    body: Value,
}

/// Salespeople read contacts at own scope here (by default they read the tenant's).
async fn own_scope_salespeople(s: &TestServer, t: &Tenant) {
    let grant = json!({"subject": "role:salesperson", "object": "contacts", "action": "read", "scope": "tenant"});
    s.delete("/api/v1/permissions", &t.admin_token, grant)
        .await
        .ok(204);
}

/// A contact named `last` assigned to the admin and to `team`; returns its id.
async fn team_contact(s: &TestServer, t: &Tenant, last: &str, team: &str) -> String {
    s.post(
        "/api/v1/contacts",
        &t.admin_token,
        json!({"kind": "person", "first_name": "Gerard", "last_name": last,
               "emails": [forecourt_tests::unique_email("c")], "assigned_team_id": team}),
    )
    .await
    .ok(201)
    .str("id")
}

/// An opportunity of `contact` assigned to the admin and to `team`; returns its id.
async fn team_opportunity(s: &TestServer, t: &Tenant, contact: &str, team: &str) -> String {
    let created = s
        .post(
            "/api/v1/opportunities",
            &t.admin_token,
            json!({"contacts": [{"contact_id": contact}], "assigned_team_id": team}),
        )
        .await
        .ok(201);
    assert_eq!(created["assigned_team_id"], team);
    created.str("id")
}

/// A word made only of letters, unique to this run, so a search finds only this test's rows.
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

/// What `who` sees of the team's contact and opportunity: (GET contact, GET opportunity,
/// contact listed, opportunity listed, contact found by search).
async fn sees(
    s: &TestServer,
    who: &Account,
    contact: &str,
    opportunity: &str,
    name: &str,
) -> (u16, u16, bool, bool, bool) {
    let c = s
        .get(&format!("/api/v1/contacts/{contact}"), &who.token)
        .await
        .0
        .as_u16();
    let o = s
        .get(&format!("/api/v1/opportunities/{opportunity}"), &who.token)
        .await
        .0
        .as_u16();
    let listed = s
        .get("/api/v1/contacts?limit=200", &who.token)
        .await
        .ok(200)
        .ids()
        .contains(&contact.to_string());
    let opp_listed = s
        .get("/api/v1/opportunities?limit=200", &who.token)
        .await
        .ok(200)
        .ids()
        .contains(&opportunity.to_string());
    let found = s
        .get(&format!("/api/v1/search?q={name}"), &who.token)
        .await
        .ok(200)["contacts"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c["id"] == contact));
    (c, o, listed, opp_listed, found)
}

#[tokio::test]
async fn teams_are_created_read_changed_and_deleted_with_their_checks() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let other = s.tenant("go").await;
    let a = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let b = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let stranger = s
        .create_user(&other.admin_token, &["salesperson"], None)
        .await;
    let name = unique("Used cars");
    // The leader is always a member, added when missing; repeats are dropped.
    let created = s
        .post(
            "/api/v1/teams",
            &t.admin_token,
            json!({"name": format!("  {name} "), "establishment_id": t.establishment_id,
                   "leader_user_id": b.id, "member_ids": [a.id, a.id]}),
        )
        .await
        .ok(201);
    let id = created.str("id");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["member_ids"], json!([a.id, b.id]));
    assert_eq!(created["leader_user_id"], b.id.as_str());
    assert_eq!(created["establishment_id"], t.establishment_id.as_str());
    assert_eq!(created["version"], 1);

    // The name is unique in the tenant whatever its case; another tenant may reuse it.
    s.post(
        "/api/v1/teams",
        &t.admin_token,
        json!({"name": name.to_uppercase()}),
    )
    .await
    .problem(409, "team_name_taken");
    s.post("/api/v1/teams", &other.admin_token, json!({"name": name}))
        .await
        .ok(201);
    // Every reference must be of the tenant, each named exactly.
    s.post(
        "/api/v1/teams",
        &t.admin_token,
        json!({"name": unique("T"), "member_ids": [a.id, a.id, stranger.id]}),
    )
    .await
    .invalid("member_ids[2]");
    s.post(
        "/api/v1/teams",
        &t.admin_token,
        json!({"name": unique("T"), "leader_user_id": stranger.id}),
    )
    .await
    .invalid("leader_user_id");
    s.post(
        "/api/v1/teams",
        &t.admin_token,
        json!({"name": unique("T"), "establishment_id": other.establishment_id}),
    )
    .await
    .invalid("establishment_id");
    s.post("/api/v1/teams", &t.admin_token, json!({"name": "  "}))
        .await
        .invalid("name");

    // Everyone reads teams; a salesperson does not write them.
    let path = format!("/api/v1/teams/{id}");
    assert_eq!(s.get(&path, &a.token).await.ok(200)["name"], name.as_str());
    assert!(
        s.get("/api/v1/teams", &a.token)
            .await
            .ok(200)
            .ids()
            .contains(&id)
    );
    s.patch(&path, &a.token, json!({"name": unique("Mine")}))
        .await
        .problem(403, "forbidden");

    // PATCH with a stale ETag changes nothing; with the current one it applies.
    let stale = patch_if(&s, &path, &t.admin_token, "\"7\"", json!({"name": "x"})).await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let renamed = unique("Renamed");
    let changed = patch_if(
        &s,
        &path,
        &t.admin_token,
        "\"1\"",
        json!({"name": renamed, "member_ids": [a.id], "leader_user_id": null}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.etag, "\"2\"");
    assert_eq!(changed.body["member_ids"], json!([a.id]));
    assert_eq!(changed.body["leader_user_id"], Value::Null);
    s.patch(&path, &t.admin_token, json!({"member_ids": [stranger.id]}))
        .await
        .invalid("member_ids[0]");

    // A team records are assigned to is not deleted: 409 with the counts.
    let contact = team_contact(&s, &t, &unique("Team"), &id).await;
    team_opportunity(&s, &t, &contact, &id).await;
    let refused = s
        .delete(&path, &t.admin_token, Value::Null)
        .await
        .problem(409, "team_in_use");
    assert_eq!(
        refused["used_by"],
        json!({"contacts": 1, "opportunities": 1})
    );
    let unused = team(&s, &t, &[&a.id]).await.str("id");
    s.delete(&format!("/api/v1/teams/{unused}"), &a.token, Value::Null)
        .await
        .problem(403, "forbidden");
    s.delete(
        &format!("/api/v1/teams/{unused}"),
        &t.admin_token,
        Value::Null,
    )
    .await
    .ok(204);
    s.get(&format!("/api/v1/teams/{unused}"), &t.admin_token)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn another_tenants_team_is_not_found_anywhere() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let other = s.tenant("go").await;
    let theirs = team(&s, &other, &[]).await.str("id");
    let path = format!("/api/v1/teams/{theirs}");
    s.get(&path, &t.admin_token).await.problem(404, "not_found");
    s.patch(&path, &t.admin_token, json!({"name": unique("Mine")}))
        .await
        .problem(404, "not_found");
    s.delete(&path, &t.admin_token, Value::Null)
        .await
        .problem(404, "not_found");
    assert!(
        !s.get("/api/v1/teams?limit=200", &t.admin_token)
            .await
            .ok(200)
            .ids()
            .contains(&theirs)
    );
    // As an assignment it is no team of this tenant.
    let body = json!({"kind": "person", "last_name": unique("P"),
                      "emails": [forecourt_tests::unique_email("c")], "assigned_team_id": theirs});
    s.post("/api/v1/contacts", &t.admin_token, body)
        .await
        .invalid("assigned_team_id");
    let contact = s.create_contact(&t.admin_token).await;
    s.patch(
        &format!("/api/v1/contacts/{contact}"),
        &t.admin_token,
        json!({"assigned_team_id": theirs}),
    )
    .await
    .invalid("assigned_team_id");
    s.post(
        "/api/v1/opportunities",
        &t.admin_token,
        json!({"contacts": [{"contact_id": contact}], "assigned_team_id": theirs}),
    )
    .await
    .invalid("assigned_team_id");
    let opp = s
        .post(
            "/api/v1/opportunities",
            &t.admin_token,
            json!({"contacts": [{"contact_id": contact}]}),
        )
        .await
        .ok(201)
        .str("id");
    s.post(
        &format!("/api/v1/opportunities/{opp}/assign"),
        &t.admin_token,
        json!({"team_id": theirs}),
    )
    .await
    .invalid("team_id");
    // Their records assigned to it stay theirs: the filter finds nothing here.
    let their_contact = team_contact(&s, &other, &unique("Theirs"), &theirs).await;
    let filtered = s
        .get(
            &format!("/api/v1/contacts?assigned_team_id={theirs}"),
            &t.admin_token,
        )
        .await
        .ok(200)
        .ids();
    assert!(filtered.is_empty(), "{filtered:?} ({their_contact})");
}

#[tokio::test]
async fn a_team_member_reaches_the_teams_records_until_removed() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    own_scope_salespeople(&s, &t).await;
    let member = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let outsider = s
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    // The member's session exists before the team: its principal is resolved again.
    s.get("/api/v1/contacts", &member.token).await.ok(200);
    let team = team(&s, &t, &[&member.id]).await.str("id");
    let name = word();
    let contact = team_contact(&s, &t, &name, &team).await;
    let opportunity = team_opportunity(&s, &t, &contact, &team).await;
    let got = s
        .get(&format!("/api/v1/contacts/{contact}"), &t.admin_token)
        .await
        .ok(200);
    assert_eq!(got["assigned_team_id"], team.as_str());
    assert_eq!(got["assigned_user_id"], t.admin_user_id.as_str());

    assert_eq!(
        sees(&s, &member, &contact, &opportunity, &name).await,
        (200, 200, true, true, true),
        "a member reaches the team's records"
    );
    assert_eq!(
        sees(&s, &outsider, &contact, &opportunity, &name).await,
        (404, 404, false, false, false),
        "a non-member does not"
    );
    // The lists filter by team.
    for path in ["contacts", "opportunities"] {
        let ids = s
            .get(
                &format!("/api/v1/{path}?assigned_team_id={team}"),
                &member.token,
            )
            .await
            .ok(200)
            .ids();
        assert_eq!(ids.len(), 1, "{path}: {ids:?}");
    }
    let other_team = self::team(&s, &t, &[]).await.str("id");
    assert!(
        s.get(
            &format!("/api/v1/contacts?assigned_team_id={other_team}&q={name}"),
            &member.token
        )
        .await
        .ok(200)
        .ids()
        .is_empty()
    );

    // An own-scope writer assigns to a team of theirs (the record stays theirs), not to
    // another team.
    let body = |team: &str| {
        json!({"kind": "person", "last_name": unique("Own"),
        "emails": [forecourt_tests::unique_email("c")],
        "assigned_user_id": t.admin_user_id, "assigned_team_id": team})
    };
    s.post("/api/v1/contacts", &member.token, body(&team))
        .await
        .ok(201);
    s.post("/api/v1/contacts", &outsider.token, body(&team))
        .await
        .problem(403, "forbidden");
    s.post(
        &format!("/api/v1/opportunities/{opportunity}/assign"),
        &member.token,
        json!({"team_id": other_team}),
    )
    .await
    .problem(403, "forbidden");

    // Removing the member takes the access away at once (the search cache included).
    s.patch(
        &format!("/api/v1/teams/{team}"),
        &t.admin_token,
        json!({"member_ids": []}),
    )
    .await
    .ok(200);
    assert_eq!(
        sees(&s, &member, &contact, &opportunity, &name).await,
        (404, 404, false, false, false),
        "a removed member no longer reaches the team's records"
    );
    // And adding them back gives it back.
    s.patch(
        &format!("/api/v1/teams/{team}"),
        &t.admin_token,
        json!({"member_ids": [member.id]}),
    )
    .await
    .ok(200);
    assert_eq!(
        sees(&s, &member, &contact, &opportunity, &name).await,
        (200, 200, true, true, true)
    );
}

#[tokio::test]
async fn a_membership_change_reaches_the_other_node() {
    let a = TestServer::start().await;
    let b = TestServer::start_sharing(&a, |_| {}).await;
    let t = a.tenant("go").await;
    own_scope_salespeople(&a, &t).await;
    let member = a
        .create_user(&t.admin_token, &["salesperson"], Some(&t.establishment_id))
        .await;
    let team = team(&a, &t, &[&member.id]).await.str("id");
    let contact = team_contact(&a, &t, &unique("Node"), &team).await;
    let path = format!("/api/v1/contacts/{contact}");
    // Node b has resolved the member's principal with the team.
    b.poll_get(&path, &member.token, 200).await.ok(200);
    a.patch(
        &format!("/api/v1/teams/{team}"),
        &t.admin_token,
        json!({"member_ids": []}),
    )
    .await
    .ok(200);
    let on_b = b
        .poll_until(
            PROPAGATION,
            Method::GET,
            &path,
            &member.token,
            || Value::Null,
            404,
        )
        .await;
    on_b.problem(404, "not_found");
}

#[tokio::test]
async fn a_manager_manages_the_teams_of_their_establishment_only() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (_company, other_site) = s.second_site(&t).await;
    let manager = s
        .create_user(&t.admin_token, &["manager"], Some(&t.establishment_id))
        .await;
    // Without an establishment the team is the manager's establishment's.
    let own = s
        .post(
            "/api/v1/teams",
            &manager.token,
            json!({"name": unique("Site team")}),
        )
        .await
        .ok(201);
    assert_eq!(own["establishment_id"], t.establishment_id.as_str());
    s.patch(
        &format!("/api/v1/teams/{}", own.str("id")),
        &manager.token,
        json!({"member_ids": [manager.id]}),
    )
    .await
    .ok(200);
    // Another site's team is neither created nor moved to by them; the admin's is read only.
    s.post(
        "/api/v1/teams",
        &manager.token,
        json!({"name": unique("Elsewhere"), "establishment_id": other_site}),
    )
    .await
    .problem(403, "forbidden");
    s.patch(
        &format!("/api/v1/teams/{}", own.str("id")),
        &manager.token,
        json!({"establishment_id": other_site}),
    )
    .await
    .problem(403, "forbidden");
    let theirs = s
        .post(
            "/api/v1/teams",
            &t.admin_token,
            json!({"name": unique("Admin's"), "establishment_id": other_site}),
        )
        .await
        .ok(201)
        .str("id");
    let path = format!("/api/v1/teams/{theirs}");
    s.get(&path, &manager.token).await.ok(200);
    s.patch(&path, &manager.token, json!({"name": unique("Taken")}))
        .await
        .problem(404, "not_found");
    // Deleting is the admin's.
    s.delete(
        &format!("/api/v1/teams/{}", own.str("id")),
        &manager.token,
        Value::Null,
    )
    .await
    .problem(403, "forbidden");
}
