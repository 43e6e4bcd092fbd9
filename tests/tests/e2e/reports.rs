//! The lead-source report (`GET /api/v1/reports/lead-sources`): counts per source with
//! outcomes and conversion, sources without leads, grouping by establishment and user, the
//! period filter, validation, licence gating, permission scopes and tenant isolation.

use chrono::{DateTime, Duration, Utc};
use forecourt_tests::{Expect, Json, TestServer, unique};
use serde_json::{Value, json};

const REPORT: &str = "/api/v1/reports/lead-sources";
const OPPS: &str = "/api/v1/opportunities";

/// Creates an opportunity on a fresh contact with the extra members in `body`; returns its id.
async fn lead(s: &TestServer, token: &str, body: Value) -> String {
    let contact = s.create_contact(token).await;
    let mut b = json!({"contacts": [{"contact_id": contact}]});
    for (k, v) in body.as_object().unwrap() {
        b[k] = v.clone();
    }
    s.post(OPPS, token, b).await.ok(201).str("id")
}

/// `n` opportunities from `source` (`Null`: none), with the extra members in `extra`.
async fn leads(s: &TestServer, token: &str, n: usize, source: &Value, extra: Value) -> Vec<String> {
    let mut body = extra;
    body["source_id"] = source.clone();
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(lead(s, token, body.clone()).await);
    }
    ids
}

/// Closes an opportunity as `won` or `lost`.
async fn close(s: &TestServer, token: &str, id: &str, status: &str) {
    let mut body = json!({"status": status});
    if status == "lost" {
        body["reason"] = json!("bought elsewhere");
    }
    s.post(&format!("{OPPS}/{id}/status"), token, body)
        .await
        .ok(200);
}

/// The report with the given query string (`""` or `"?..."`).
async fn report(s: &TestServer, token: &str, query: &str) -> Value {
    s.get(&format!("{REPORT}{query}"), token).await.ok(200)
}

fn rows(r: &Value) -> Vec<Value> {
    r["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {r}"))
        .clone()
}

/// The only row of the source `id` (`Null`: the row of leads without a source).
#[track_caller]
fn row_of(r: &Value, id: &Value) -> Value {
    let found: Vec<Value> = rows(r)
        .into_iter()
        .filter(|row| row["source_id"] == *id)
        .collect();
    assert_eq!(found.len(), 1, "one row for source {id} in {r}");
    found[0].clone()
}

/// `[leads, won, lost, open]` of a row or of the totals.
fn counts(v: &Value) -> [i64; 4] {
    ["leads", "won", "lost", "open"].map(|k| {
        v[k].as_i64()
            .unwrap_or_else(|| panic!("no integer {k} in {v}"))
    })
}

fn rate(v: &Value) -> f64 {
    v["conversion_rate"]
        .as_f64()
        .unwrap_or_else(|| panic!("no conversion_rate in {v}"))
}

/// The rows split by `keys`, as `(source_id, key values..., counts)` strings, sorted.
fn split(r: &Value, keys: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = rows(r)
        .iter()
        .map(|row| {
            let mut parts = vec![row["source_id"].to_string()];
            for k in keys {
                assert!(row.get(*k).is_some(), "no {k} in {row}");
                parts.push(row[*k].to_string());
            }
            parts.push(format!("{:?}", counts(row)));
            parts.join(" ")
        })
        .collect();
    out.sort();
    out
}

fn key(source: &Value, dims: &[&str], c: [i64; 4]) -> String {
    let mut parts = vec![source.to_string()];
    parts.extend(dims.iter().map(|d| json!(d).to_string()));
    parts.push(format!("{c:?}"));
    parts.join(" ")
}

#[tokio::test]
async fn counts_per_source_with_outcomes_and_sources_without_leads() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let a = s.create_source(tok).await["id"].clone();
    let b = s.create_source(tok).await["id"].clone();
    let idle = s.create_source(tok).await;
    let retired = s.create_source(tok).await["id"].clone();
    let retired_idle = s.create_source(tok).await["id"].clone();

    // A: 4 leads, 1 won, 1 lost, 2 open (one of them taken in charge).
    let la = leads(&s, tok, 3, &a, json!({})).await;
    lead(
        &s,
        tok,
        json!({"source_id": a, "status": "taken_in_charge"}),
    )
    .await;
    close(&s, tok, &la[0], "won").await;
    close(&s, tok, &la[1], "lost").await;
    // B: 2 leads, both won.
    for id in leads(&s, tok, 2, &b, json!({})).await {
        close(&s, tok, &id, "won").await;
    }
    // No source: 1 lead, lost.
    let none = leads(&s, tok, 1, &Value::Null, json!({})).await;
    close(&s, tok, &none[0], "lost").await;
    // A source switched off after it brought a lead still reports that lead; one switched off
    // without leads is left out.
    leads(&s, tok, 1, &retired, json!({})).await;
    for id in [&retired, &retired_idle] {
        s.patch(
            &format!("/api/v1/lead-sources/{}", id.as_str().unwrap()),
            tok,
            json!({"active": false}),
        )
        .await
        .ok(200);
    }

    let r = report(&s, tok, "").await;
    assert_eq!(r["group_by"], json!(["source"]), "{r}");
    assert!(r["from"].is_null() && r["to"].is_null(), "{r}");

    let ra = row_of(&r, &a);
    assert_eq!(counts(&ra), [4, 1, 1, 2], "{ra}");
    assert_eq!(rate(&ra), 0.25);
    assert!(ra["source_name"].is_string(), "{ra}");
    for k in [
        "establishment_id",
        "establishment_name",
        "user_id",
        "user_name",
    ] {
        assert!(ra.get(k).is_none(), "{k} without grouping by it: {ra}");
    }
    let rb = row_of(&r, &b);
    assert_eq!(counts(&rb), [2, 2, 0, 0], "{rb}");
    assert_eq!(rate(&rb), 1.0);
    let rn = row_of(&r, &Value::Null);
    assert_eq!(counts(&rn), [1, 0, 1, 0], "{rn}");
    assert_eq!(rate(&rn), 0.0);
    assert!(rn["source_name"].is_null(), "{rn}");
    assert_eq!(counts(&row_of(&r, &retired)), [1, 0, 0, 1]);

    // A source that brought nothing is listed, with zeros, under its name.
    let ri = row_of(&r, &idle["id"]);
    assert_eq!(counts(&ri), [0, 0, 0, 0], "{ri}");
    assert_eq!(rate(&ri), 0.0);
    assert_eq!(ri["source_name"], idle["name"]);
    assert!(
        rows(&r).iter().all(|row| row["source_id"] != retired_idle),
        "a switched-off source without leads is listed: {r}"
    );
    // So are the sources every tenant starts with.
    let names: Vec<String> = rows(&r)
        .iter()
        .filter_map(|row| row["source_name"].as_str().map(str::to_string))
        .collect();
    for default in ["Showroom", "Website", "Phone"] {
        assert!(names.contains(&default.to_string()), "{default}: {r}");
    }

    // Most leads first, then by name (case-insensitive): A, B, retired / no source, then the
    // sources without leads alphabetically.
    let listed: Vec<i64> = rows(&r).iter().map(|row| counts(row)[0]).collect();
    assert_eq!(&listed[..2], &[4, 2], "{r}");
    assert!(listed.windows(2).all(|w| w[0] >= w[1]), "{listed:?}");
    let zero: Vec<String> = rows(&r)
        .iter()
        .filter(|row| counts(row)[0] == 0)
        .map(|row| row.str("source_name").to_lowercase())
        .collect();
    let mut sorted = zero.clone();
    sorted.sort();
    assert_eq!(zero, sorted, "{r}");
    assert_eq!(zero.len(), 4, "idle + 3 defaults: {r}");

    assert_eq!(counts(&r["totals"]), [8, 3, 2, 3], "{r}");
    assert_eq!(rate(&r["totals"]), 3.0 / 8.0);

    // `source` is the default and may be said.
    assert_eq!(rows(&report(&s, tok, "?group_by=source").await), rows(&r));
}

#[tokio::test]
async fn grouped_by_establishment_and_by_user() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let est1 = t.establishment_id.clone();
    let est2 = s
        .post(
            "/api/v1/establishments",
            tok,
            json!({"name": unique("Site"), "company_id": t.company_id}),
        )
        .await
        .ok(201)
        .str("id");
    let alice = s.create_user(tok, &["salesperson"], Some(&est1)).await;
    let bob = s.create_user(tok, &["salesperson"], Some(&est2)).await;
    let name_of = |path: String| {
        let s = &s;
        async move { s.get(&path, tok).await.ok(200).str("name") }
    };
    let est1_name = name_of(format!("/api/v1/establishments/{est1}")).await;
    let est2_name = name_of(format!("/api/v1/establishments/{est2}")).await;
    let alice_name = name_of(format!("/api/v1/users/{}", alice.id)).await;
    let bob_name = name_of(format!("/api/v1/users/{}", bob.id)).await;
    let a = s.create_source(tok).await["id"].clone();
    let b = s.create_source(tok).await["id"].clone();
    let at = |user: &str, est: &str| json!({"assigned_user_id": user, "establishment_id": est});

    // A: 2 for Alice at site 1 (1 won), 1 for Bob at site 2 (lost), 1 for Alice at site 2.
    let a1 = leads(&s, tok, 2, &a, at(&alice.id, &est1)).await;
    close(&s, tok, &a1[0], "won").await;
    let a2 = leads(&s, tok, 1, &a, at(&bob.id, &est2)).await;
    close(&s, tok, &a2[0], "lost").await;
    leads(&s, tok, 1, &a, at(&alice.id, &est2)).await;
    // B: 1 for Bob at site 2. No source: 1 for Alice at site 1.
    leads(&s, tok, 1, &b, at(&bob.id, &est2)).await;
    leads(&s, tok, 1, &Value::Null, at(&alice.id, &est1)).await;

    let by_est = report(&s, tok, "?group_by=establishment").await;
    assert_eq!(by_est["group_by"], json!(["source", "establishment"]));
    let mut want = vec![
        key(&a, &[&est1, &est1_name], [2, 1, 0, 1]),
        key(&a, &[&est2, &est2_name], [2, 0, 1, 1]),
        key(&b, &[&est2, &est2_name], [1, 0, 0, 1]),
        key(&Value::Null, &[&est1, &est1_name], [1, 0, 0, 1]),
    ];
    want.sort();
    assert_eq!(
        split(&by_est, &["establishment_id", "establishment_name"]),
        want,
        "{by_est}"
    );
    for row in rows(&by_est) {
        assert!(row.get("user_id").is_none(), "{row}");
    }
    assert_eq!(
        rate(&row_of_split(&by_est, &a, "establishment_id", &est1)),
        0.5
    );
    assert_eq!(counts(&by_est["totals"]), [6, 1, 1, 4]);

    let by_user = report(&s, tok, "?group_by=user").await;
    assert_eq!(by_user["group_by"], json!(["source", "user"]));
    let mut want = vec![
        key(&a, &[&alice.id, &alice_name], [3, 1, 0, 2]),
        key(&a, &[&bob.id, &bob_name], [1, 0, 1, 0]),
        key(&b, &[&bob.id, &bob_name], [1, 0, 0, 1]),
        key(&Value::Null, &[&alice.id, &alice_name], [1, 0, 0, 1]),
    ];
    want.sort();
    assert_eq!(
        split(&by_user, &["user_id", "user_name"]),
        want,
        "{by_user}"
    );
    for row in rows(&by_user) {
        assert!(row.get("establishment_id").is_none(), "{row}");
    }
    assert_eq!(
        rate(&row_of_split(&by_user, &a, "user_id", &alice.id)),
        1.0 / 3.0
    );

    for q in [
        "?group_by=establishment,user",
        "?group_by=user,%20establishment",
        "?group_by=source,establishment,user",
    ] {
        let both = report(&s, tok, q).await;
        assert_eq!(
            both["group_by"],
            json!(["source", "establishment", "user"]),
            "{q}"
        );
        let mut want = vec![
            key(&a, &[&est1, &alice.id], [2, 1, 0, 1]),
            key(&a, &[&est2, &bob.id], [1, 0, 1, 0]),
            key(&a, &[&est2, &alice.id], [1, 0, 0, 1]),
            key(&b, &[&est2, &bob.id], [1, 0, 0, 1]),
            key(&Value::Null, &[&est1, &alice.id], [1, 0, 0, 1]),
        ];
        want.sort();
        assert_eq!(split(&both, &["establishment_id", "user_id"]), want, "{q}");
        // Split reports list only combinations with leads: no idle or default source rows.
        assert!(rows(&both).iter().all(|r| counts(r)[0] > 0), "{both}");
        assert_eq!(counts(&both["totals"]), [6, 1, 1, 4]);
        let first = &rows(&both)[0];
        assert_eq!(
            (
                first["source_id"].clone(),
                first["establishment_id"].clone()
            ),
            (a.clone(), json!(est1)),
            "most leads first: {both}"
        );
    }
}

fn row_of_split(r: &Value, source: &Value, dim: &str, id: &str) -> Value {
    rows(r)
        .into_iter()
        .find(|row| row["source_id"] == *source && row[dim] == id)
        .unwrap_or_else(|| panic!("no row {source} {dim}={id} in {r}"))
}

/// Moves an opportunity's creation instant (the harness runs on the wall clock).
async fn backdate(s: &TestServer, tenant: &str, id: &str, at: DateTime<Utc>) {
    // Imported here only: `ExprTrait::is_null` would shadow `Value::is_null` elsewhere.
    use sea_orm::{
        ConnectionTrait,
        sea_query::{Expr, ExprTrait, Query},
    };
    let db = forecourt_core::db::connect(&s.config.database_url())
        .await
        .unwrap();
    let stmt = Query::update()
        .table("opportunities")
        .value("created_at", at)
        .and_where(Expr::col("tenant_id").eq(uuid::Uuid::parse_str(tenant).unwrap()))
        .and_where(Expr::col("id").eq(uuid::Uuid::parse_str(id).unwrap()))
        .to_owned();
    let done = db.execute(&stmt).await.unwrap();
    assert_eq!(done.rows_affected(), 1);
    let _ = db.close().await;
}

#[tokio::test]
async fn period_counts_leads_by_creation_day_both_ends_included() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let src = s.create_source(tok).await["id"].clone();

    // Around now, through the API alone.
    let first = lead(&s, tok, json!({"source_id": src})).await;
    let created = s.get(&format!("{OPPS}/{first}"), tok).await.ok(200);
    let day = DateTime::parse_from_rfc3339(&created.str("created_at"))
        .unwrap()
        .with_timezone(&Utc)
        .date_naive();
    let (before, after) = (day - Duration::days(1), day + Duration::days(1));
    let n = |r: &Value| counts(&row_of(r, &src))[0];
    let today = report(&s, tok, &format!("?from={day}&to={day}")).await;
    assert_eq!(n(&today), 1, "{today}");
    assert_eq!(today["from"], day.to_string());
    assert_eq!(today["to"], day.to_string());
    assert_eq!(n(&report(&s, tok, &format!("?from={day}")).await), 1);
    assert_eq!(n(&report(&s, tok, &format!("?to={day}")).await), 1);
    let earlier = report(&s, tok, &format!("?to={before}")).await;
    assert_eq!(n(&earlier), 0, "the source is listed with zero: {earlier}");
    assert_eq!(counts(&earlier["totals"]), [0, 0, 0, 0]);
    assert_eq!(n(&report(&s, tok, &format!("?from={after}")).await), 0);
    // Blank parameters are absent ones.
    assert_eq!(n(&report(&s, tok, "?from=&to=&group_by=").await), 1);

    // At chosen instants: the exact edges of March 2025 and just outside them.
    let at = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    backdate(&s, &t.tenant_id, &first, at("2025-02-28T23:59:59.999Z")).await;
    for (when, won) in [
        ("2025-03-01T00:00:00Z", true),
        ("2025-03-15T12:30:00Z", false),
        ("2025-03-31T23:59:59.999Z", false),
        ("2025-04-01T00:00:00Z", true),
    ] {
        let id = lead(&s, tok, json!({"source_id": src})).await;
        if won {
            close(&s, tok, &id, "won").await;
        }
        backdate(&s, &t.tenant_id, &id, at(when)).await;
    }
    let march = report(&s, tok, "?from=2025-03-01&to=2025-03-31").await;
    assert_eq!(counts(&row_of(&march, &src)), [3, 1, 0, 2], "{march}");
    assert_eq!(rate(&row_of(&march, &src)), 1.0 / 3.0);
    assert_eq!(counts(&march["totals"]), [3, 1, 0, 2]);
    let last_day = report(&s, tok, "?from=2025-03-31&to=2025-03-31").await;
    assert_eq!(n(&last_day), 1, "{last_day}");
    let first_day = report(&s, tok, "?from=2025-03-01&to=2025-03-01").await;
    assert_eq!(counts(&row_of(&first_day, &src)), [1, 1, 0, 0]);
    assert_eq!(n(&report(&s, tok, "?from=2025-03-01").await), 4);
    assert_eq!(n(&report(&s, tok, "?to=2025-03-31").await), 4);
    assert_eq!(n(&report(&s, tok, "?to=2025-02-28").await), 1);
    assert_eq!(n(&report(&s, tok, "").await), 5);
    // The period applies when split, too.
    let split_march = report(&s, tok, "?from=2025-03-01&to=2025-03-31&group_by=user").await;
    assert_eq!(
        counts(&split_march["totals"]),
        [3, 1, 0, 2],
        "{split_march}"
    );
}

#[tokio::test]
async fn invalid_parameters_name_the_field() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    for (query, field) in [
        ("from=2025-13-01", "from"),
        ("from=yesterday", "from"),
        ("from=2025-3-1", "from"),
        ("to=2025-02-30", "to"),
        ("to=2025-03-01T00:00:00Z", "to"),
        ("from=2025-04-01&to=2025-03-31", "from"),
        ("group_by=month", "group_by"),
        ("group_by=establishment,", "group_by"),
        ("group_by=establishment;user", "group_by"),
    ] {
        let reply = s
            .send(
                forecourt_tests::Method::GET,
                &format!("{REPORT}?{query}"),
                tok,
                &Value::Null,
            )
            .await;
        let body = reply.assert_problem(422);
        assert_eq!(body["field"], field, "{query}: {body}");
        assert_eq!(body["type"], "validation_error", "{query}: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
    // The same day at both ends is a valid one-day period.
    report(&s, tok, "?from=2025-03-31&to=2025-03-31").await;
}

#[tokio::test]
async fn licence_and_module_toggle_gate_the_report() {
    let s = TestServer::start().await;
    let go = s.tenant("go").await;
    let denied = s
        .get(REPORT, &go.admin_token)
        .await
        .problem(403, "module_not_licensed");
    assert_eq!(denied["module"], "sources");
    assert_eq!(denied["tiers"], json!(["expert"]));

    let expert = s.tenant("expert").await;
    s.patch(
        "/api/v1/settings/modules",
        &expert.admin_token,
        json!({"module": "sources", "enabled": false}),
    )
    .await
    .ok(200);
    s.poll_get(REPORT, &expert.admin_token, 403)
        .await
        .problem(403, "module_disabled");
    s.get(REPORT, "").await.problem(401, "unauthorized");
}

#[tokio::test]
async fn figures_stay_within_the_callers_opportunity_scope() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let est1 = t.establishment_id.clone();
    let est2 = s
        .post(
            "/api/v1/establishments",
            tok,
            json!({"name": unique("Site"), "company_id": t.company_id}),
        )
        .await
        .ok(201)
        .str("id");
    let alice = s.create_user(tok, &["salesperson"], Some(&est1)).await;
    let bob = s.create_user(tok, &["salesperson"], Some(&est2)).await;
    let carol = s.create_user(tok, &["salesperson"], Some(&est1)).await;
    let manager = s.create_user(tok, &["manager"], Some(&est1)).await;
    let src = s.create_source(tok).await["id"].clone();
    let at = |user: &str, est: &str| json!({"assigned_user_id": user, "establishment_id": est});

    let mine = leads(&s, tok, 2, &src, at(&alice.id, &est1)).await;
    close(&s, tok, &mine[0], "won").await;
    let theirs = leads(&s, tok, 3, &src, at(&bob.id, &est2)).await;
    close(&s, tok, &theirs[0], "lost").await;
    leads(&s, tok, 1, &src, at(&carol.id, &est1)).await;
    // Alice's own lead without a source, entered by herself.
    lead(&s, &alice.token, json!({})).await;

    let totals = |r: &Value| counts(&r["totals"]);
    // A salesperson (own scope) counts only the leads assigned to them.
    let ra = report(&s, &alice.token, "").await;
    assert_eq!(counts(&row_of(&ra, &src)), [2, 1, 0, 1], "{ra}");
    assert_eq!(totals(&ra), [3, 1, 0, 2], "{ra}");
    let ra = report(&s, &alice.token, "?group_by=establishment,user").await;
    assert!(rows(&ra).iter().all(|r| r["user_id"] == alice.id), "{ra}");
    let rb = report(&s, &bob.token, "").await;
    assert_eq!(counts(&row_of(&rb, &src)), [3, 0, 1, 2], "{rb}");
    assert_eq!(totals(&rb), [3, 0, 1, 2], "{rb}");
    // A manager (establishment scope) counts their site's leads, not the other site's.
    let rm = report(&s, &manager.token, "").await;
    assert_eq!(counts(&row_of(&rm, &src)), [3, 1, 0, 2], "{rm}");
    assert_eq!(totals(&rm), [4, 1, 0, 3], "{rm}");
    // The admin (tenant scope) counts everything.
    let all = report(&s, tok, "").await;
    assert_eq!(counts(&row_of(&all, &src)), [6, 1, 1, 4], "{all}");
    assert_eq!(totals(&all), [7, 1, 1, 5], "{all}");

    // Reading sources without reading opportunities: 403, naming the missing permission.
    let nobody = s.create_user(tok, &[], None).await;
    s.get(REPORT, &nobody.token).await.problem(403, "forbidden");
    s.post(
        "/api/v1/permissions",
        tok,
        json!({"subject": format!("user:{}", nobody.id), "object": "settings.sources",
               "action": "read", "scope": "tenant"}),
    )
    .await
    .ok(201);
    s.poll_get("/api/v1/lead-sources", &nobody.token, 200)
        .await
        .ok(200);
    let denied = s.get(REPORT, &nobody.token).await.problem(403, "forbidden");
    assert!(
        denied["detail"]
            .as_str()
            .is_some_and(|d| d.contains("opportunities")),
        "{denied}"
    );
    // And the other way round: opportunities without `settings.sources`.
    s.delete(
        "/api/v1/permissions",
        tok,
        json!({"subject": "role:salesperson", "object": "settings.sources",
               "action": "read", "scope": "tenant"}),
    )
    .await
    .ok(204);
    let denied = s
        .poll_get(REPORT, &alice.token, 403)
        .await
        .problem(403, "forbidden");
    assert!(
        denied["detail"]
            .as_str()
            .is_some_and(|d| d.contains("settings.sources")),
        "{denied}"
    );
}

#[tokio::test]
async fn tenants_never_count_each_others_leads() {
    let s = TestServer::start().await;
    let one = s.tenant("expert").await;
    let two = s.tenant("expert").await;
    let src1 = s.create_source(&one.admin_token).await["id"].clone();
    let src2 = s.create_source(&two.admin_token).await["id"].clone();
    let won1 = leads(&s, &one.admin_token, 3, &src1, json!({})).await;
    close(&s, &one.admin_token, &won1[0], "won").await;
    leads(&s, &one.admin_token, 2, &Value::Null, json!({})).await;
    let lost2 = leads(&s, &two.admin_token, 1, &src2, json!({})).await;
    close(&s, &two.admin_token, &lost2[0], "lost").await;
    leads(&s, &two.admin_token, 1, &Value::Null, json!({})).await;

    for query in ["", "?group_by=establishment,user"] {
        let r1 = report(&s, &one.admin_token, query).await;
        let r2 = report(&s, &two.admin_token, query).await;
        assert_eq!(counts(&r1["totals"]), [5, 1, 0, 4], "{query}: {r1}");
        assert_eq!(counts(&r2["totals"]), [2, 0, 1, 1], "{query}: {r2}");
        assert_eq!(counts(&row_of(&r1, &src1)), [3, 1, 0, 2]);
        assert_eq!(counts(&row_of(&r2, &src2)), [1, 0, 1, 0]);
        assert_eq!(counts(&row_of(&r1, &Value::Null))[0], 2);
        assert_eq!(counts(&row_of(&r2, &Value::Null))[0], 1);
        let (t1, t2) = (r1.to_string(), r2.to_string());
        for (text, foreign) in [
            (
                &t1,
                [
                    two.tenant_id.as_str(),
                    src2.as_str().unwrap(),
                    two.establishment_id.as_str(),
                    two.admin_user_id.as_str(),
                ],
            ),
            (
                &t2,
                [
                    one.tenant_id.as_str(),
                    src1.as_str().unwrap(),
                    one.establishment_id.as_str(),
                    one.admin_user_id.as_str(),
                ],
            ),
        ] {
            for id in foreign {
                assert!(!text.contains(id), "{id} leaked into {text}");
            }
        }
    }
}
