//! Problems in the caller's language: `Accept-Language`, else the tenant's language, else
//! English; `type` and `field` the same in every language; a 422 naming every invalid field of
//! a body; details that say what is expected, never a parser's words.

use forecourt_core::{Lang, msg};
use forecourt_tests::{Method, TestServer, onboarding, unique_email};
use serde_json::{Value, json};

/// Sends `body` to `path` as `token`, asking for `lang` (none: no `Accept-Language` at all).
async fn ask(s: &TestServer, path: &str, token: &str, lang: Option<&str>, body: &Value) -> Value {
    // A client of its own: the suite's client asks for English by default.
    let client = reqwest::Client::new();
    let mut req = client
        .request(
            if body.is_null() {
                Method::GET
            } else {
                Method::POST
            },
            format!("{}{path}", s.base),
        )
        .bearer_auth(token);
    if let Some(lang) = lang {
        req = req.header("accept-language", lang);
    }
    if !body.is_null() {
        req = req.json(body);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{path}"
    );
    resp.json().await.unwrap()
}

/// The problem's members that never change with the language.
fn fixed(p: &Value) -> Value {
    json!({"type": p["type"], "field": p["field"], "status": p["status"], "errors":
        p["errors"].as_array().map(|e| e.iter().map(|e| json!([e["field"], e["type"]])).collect::<Vec<_>>())})
}

#[tokio::test]
async fn the_same_problem_in_french_dutch_and_english() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let bad = json!({"kind": "person", "last_name": "Peeters", "emails": ["nobody-at-all"]});
    let en = ask(&s, "/api/v1/contacts", &t.admin_token, Some("en"), &bad).await;
    let fr = ask(
        &s,
        "/api/v1/contacts",
        &t.admin_token,
        Some("fr-BE,fr;q=0.9"),
        &bad,
    )
    .await;
    let nl = ask(
        &s,
        "/api/v1/contacts",
        &t.admin_token,
        Some("nl-BE, en;q=0.5"),
        &bad,
    )
    .await;
    assert_eq!(en["type"], "validation_error", "{en}");
    assert_eq!(en["field"], "emails[0]", "{en}");
    assert_eq!(fixed(&en), fixed(&fr));
    assert_eq!(fixed(&en), fixed(&nl));
    let expected = msg!("not a valid email address");
    for (p, lang) in [(&en, Lang::En), (&fr, Lang::Fr), (&nl, Lang::Nl)] {
        assert_eq!(p["detail"], expected.render(lang), "{p}");
        assert_eq!(p["title"], msg!("Invalid input").render(lang), "{p}");
        assert_eq!(p["errors"][0]["detail"], p["detail"], "{p}");
    }
    assert_ne!(fr["detail"], en["detail"]);
    assert_ne!(nl["detail"], en["detail"]);
    assert_ne!(nl["detail"], fr["detail"]);
    // A not-found, a permission and a conflict: their words change, their types do not.
    let missing = format!("/api/v1/contacts/{}", uuid::Uuid::now_v7());
    let fr = ask(&s, &missing, &t.admin_token, Some("fr"), &Value::Null).await;
    let nl = ask(&s, &missing, &t.admin_token, Some("nl"), &Value::Null).await;
    assert_eq!(
        (&fr["type"], &nl["type"]),
        (&json!("not_found"), &json!("not_found"))
    );
    assert_eq!(fr["detail"], "contact introuvable", "{fr}");
    assert_ne!(nl["detail"], fr["detail"]);
}

#[tokio::test]
async fn without_a_language_of_ours_the_tenants_language_decides() {
    let s = TestServer::start().await;
    let op = s.operator().await;
    let reseller = s.create_reseller(&op).await;
    let email = unique_email("nl-admin");
    let mut body = onboarding("go", &email, Some(forecourt_tests::PASSWORD));
    body["language"] = json!("nl");
    let (status, _) = s
        .post("/api/v1/platform/tenants", &reseller.token, body)
        .await;
    assert_eq!(status, 201);
    let token = s.login(&email, forecourt_tests::PASSWORD).await;
    let bad = json!({"kind": "person", "last_name": "Janssens", "emails": ["x"]});
    let dutch = msg!("not a valid email address").render(Lang::Nl);
    for lang in [None, Some("de-DE"), Some("*")] {
        let p = ask(&s, "/api/v1/contacts", &token, lang, &bad).await;
        assert_eq!(p["detail"], dutch, "Accept-Language {lang:?}: {p}");
    }
    // Asked for, French wins over the tenant's Dutch.
    let p = ask(&s, "/api/v1/contacts", &token, Some("de, fr;q=0.4"), &bad).await;
    assert_eq!(
        p["detail"],
        msg!("not a valid email address").render(Lang::Fr)
    );
    // No tenant at all (no credentials): English.
    let p = ask(&s, "/api/v1/contacts", "not-a-token", None, &bad).await;
    assert_eq!(p["type"], "unauthorized");
    assert_eq!(
        p["detail"],
        msg!("missing, invalid or expired credentials").render(Lang::En)
    );
}

#[tokio::test]
async fn a_body_with_three_invalid_fields_names_all_three() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let bad = json!({
        "kind": "robot",
        "last_name": 42,
        "birth_date": "31/12/1980",
        "emails": ["a@example.com"],
    });
    let p = ask(&s, "/api/v1/contacts", &t.admin_token, Some("en"), &bad).await;
    assert_eq!(p["status"], 422, "{p}");
    let errors = p["errors"].as_array().unwrap();
    let detail = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{field} not named: {p}"))["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(errors.len(), 3, "{p}");
    assert_eq!(p["field"], errors[0]["field"]);
    assert!(
        errors.iter().all(|e| e["type"] == "validation_error"),
        "{p}"
    );
    assert!(
        detail("kind").contains("`person`") && detail("kind").contains("`company`"),
        "a wrong enum lists the accepted values: {p}"
    );
    assert!(
        detail("birth_date").contains("YYYY-MM-DD") && detail("birth_date").contains("2026-12-31"),
        "a wrong date says the format with an example: {p}"
    );
    assert_eq!(
        detail("last_name"),
        msg!("a text (a JSON string)").to_string()
    );
    // The same three in French, in the same order.
    let fr = ask(&s, "/api/v1/contacts", &t.admin_token, Some("fr"), &bad).await;
    assert_eq!(fixed(&fr), fixed(&p));
    let date = fr["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "birth_date")
        .unwrap();
    assert_eq!(
        date["detail"],
        msg!("a date written YYYY-MM-DD, for example 2026-12-31").render(Lang::Fr)
    );
    // Nothing was stored.
    let (_, list) = s.get("/api/v1/contacts", &t.admin_token).await;
    assert_eq!(list["items"], json!([]), "{list}");
}

#[tokio::test]
async fn no_detail_is_a_parsers_message() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let raw = [
        "invalid type",
        "expected",
        "EOF",
        "at line 1 column",
        "parse",
        "serde",
        "u64",
        "Uuid",
        "`String`",
    ];
    let clean = |p: &Value| {
        let text = p.to_string();
        assert!(
            !raw.iter().any(|r| text.contains(r)),
            "a parser's words reached the client: {p}"
        );
    };
    // A query parameter of the wrong type, named, with what it takes.
    let r = s
        .send(
            Method::GET,
            "/api/v1/contacts?limit=many",
            &t.admin_token,
            &Value::Null,
        )
        .await;
    let p = r.assert_problem(422);
    assert_eq!(
        (&p["field"], &p["detail"]),
        (&json!("limit"), &json!("a whole number, 0 or more"))
    );
    clean(p);
    // An enum parameter lists its values.
    let r = s
        .send(
            Method::GET,
            "/api/v1/vehicles?status=flying",
            &t.admin_token,
            &Value::Null,
        )
        .await;
    let p = r.assert_problem(422);
    assert_eq!(p["field"], "status");
    assert!(p["detail"].as_str().unwrap().contains("`in_stock`"), "{p}");
    clean(p);
    // Bodies: wrong types, an unknown member, a number out of range, a missing one, JSON cut off.
    for body in [
        r#"{"kind": "person", "last_name": "A", "emails": "a@b.c"}"#,
        r#"{"kind": "person", "last_name": "A", "tenant_id": "x", "owner": 1}"#,
        r#"{"kind": "person", "last_name": "A", "vat_rate": 1e400}"#,
        r#"{"last_name": "A"}"#,
        r#"{"kind": "person", "last_na"#,
        r#"{"kind": ["person"], "employer_id": "nope"}"#,
    ] {
        let r = s
            .send_raw(
                Method::POST,
                "/api/v1/contacts",
                &t.admin_token,
                "application/json",
                body.into(),
            )
            .await;
        let status = r.status.as_u16();
        assert!(status == 400 || status == 422, "{body}: {r:?}");
        clean(r.assert_problem(status));
    }
    // Both unknown members are named, not only the first.
    let r = s
        .post(
            "/api/v1/contacts",
            &t.admin_token,
            json!({"kind": "person", "last_name": "A", "tenant_id": "x", "owner": 1}),
        )
        .await;
    let fields: Vec<&str> = r.1["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["owner", "tenant_id"], "{}", r.1);
}

#[tokio::test]
async fn the_rules_of_a_contact_name_every_field_they_refuse() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let (status, p) = s
        .post(
            "/api/v1/contacts",
            &t.admin_token,
            json!({
                "kind": "person",
                "last_name": "Claes",
                "emails": ["ok@example.com", "not-an-email"],
                "phones": ["12"],
                "vat_rate": 140.0,
                "employer_id": uuid::Uuid::now_v7(),
                "groups": ["VIP", "  "],
            }),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "emails[1]",
            "phones[0]",
            "vat_rate",
            "groups[1]",
            "employer_id"
        ],
        "{p}"
    );
    assert_eq!(p["field"], "emails[1]");
    let (_, list) = s.get("/api/v1/contacts", &t.admin_token).await;
    assert_eq!(list["items"], json!([]), "nothing stored: {list}");
}
