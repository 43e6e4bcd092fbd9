//! `Idempotency-Key` on POST: a retry gets the first answer byte for byte without a second
//! write, in parallel and across nodes; another request under the same key is refused; keys
//! belong to their principal; a malformed key is a 422 naming the header; a POST without a
//! key behaves as before.

use forecourt_tests::{Expect, Json, PASSWORD, Tenant, TestServer, unique, unique_email};
use reqwest::{Method, header::HeaderMap};
use serde_json::{Value, json};

/// One answer as the client got it, body as bytes.
struct Answer {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == "true"
    }
}

/// POSTs `body` to `path` with `key` as its `Idempotency-Key` (none when `None`).
async fn post_keyed(
    s: &TestServer,
    token: &str,
    path: &str,
    key: Option<&[u8]>,
    body: &Value,
) -> Answer {
    let mut req = s
        .client
        .post(format!("{}{path}", s.base))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        req = req.header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes(key).unwrap(),
        );
    }
    let resp = req.send().await.unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        bytes: resp.bytes().await.unwrap().to_vec(),
    }
}

fn contact() -> Value {
    json!({
        "kind": "person",
        "first_name": "Lotte",
        "last_name": unique("Janssens"),
        "emails": [unique_email("idem")],
    })
}

/// The contacts a tenant's admin sees.
async fn contacts(s: &TestServer, t: &Tenant) -> Vec<String> {
    s.get("/api/v1/contacts?limit=200", &t.admin_token)
        .await
        .ok(200)
        .ids()
}

#[tokio::test]
async fn a_retried_create_answers_the_first_answer_and_writes_once() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let key = uuid::Uuid::now_v7().to_string();
    let body = contact();
    let first = post_keyed(
        &s,
        &t.admin_token,
        "/api/v1/contacts",
        Some(key.as_bytes()),
        &body,
    )
    .await;
    assert_eq!(first.status, 201, "{:?}", first.json());
    assert!(!first.replayed());
    let id = first.json().str("id");
    for _ in 0..2 {
        let again = post_keyed(
            &s,
            &t.admin_token,
            "/api/v1/contacts",
            Some(key.as_bytes()),
            &body,
        )
        .await;
        assert_eq!(again.status, 201);
        assert!(again.replayed(), "a retry is marked as a replay");
        assert_eq!(again.bytes, first.bytes, "the same answer, byte for byte");
        assert_eq!(again.header("etag"), first.header("etag"));
        assert!(!first.header("etag").is_empty());
        assert_eq!(again.header("content-type"), first.header("content-type"));
        // Each answer keeps its own request id.
        assert_ne!(again.header("x-request-id"), first.header("x-request-id"));
    }
    assert_eq!(contacts(&s, &t).await, vec![id.clone()]);

    // An answer the handler gave after running is kept too, even a refusal: a comment on an
    // opportunity that is not there is 404, and so is its retry, without running again.
    let missing = format!("/api/v1/opportunities/{}/comments", uuid::Uuid::now_v7());
    let note = json!({"text": "called back"});
    let refused = post_keyed(&s, &t.admin_token, &missing, Some(b"comment-1"), &note).await;
    assert_eq!(refused.status, 404);
    let again = post_keyed(&s, &t.admin_token, &missing, Some(b"comment-1"), &note).await;
    assert_eq!((again.status, again.replayed()), (404, true));
    assert_eq!(again.bytes, refused.bytes);
    assert!(
        again
            .header("content-type")
            .starts_with("application/problem+json")
    );
}

/// Uploads `bytes` as a document under the key `upload-1`.
async fn upload(
    s: &TestServer,
    t: &Tenant,
    path: &str,
    content_type: &str,
    bytes: &[u8],
) -> forecourt_tests::Reply {
    s.send_with(
        Method::POST,
        path,
        &t.admin_token,
        &[
            ("content-type", content_type),
            ("content-disposition", "attachment; filename=\"offer.pdf\""),
            ("idempotency-key", "upload-1"),
        ],
        bytes.to_vec(),
    )
    .await
}

#[tokio::test]
async fn a_refusal_before_any_work_releases_the_key() {
    // A 415 (a type the upload does not take) is not kept: the client may correct the request
    // and send it under the same key, and it runs.
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let contact = s.create_contact(&t.admin_token).await;
    let opp = s
        .post(
            "/api/v1/opportunities",
            &t.admin_token,
            json!({"contacts": [{"contact_id": contact}]}),
        )
        .await
        .ok(201)
        .str("id");
    let path = format!("/api/v1/opportunities/{opp}/documents");
    let refused = upload(&s, &t, &path, "application/x-msdownload", b"MZ\x90\0").await;
    refused.assert_problem(415);
    let stored = upload(&s, &t, &path, "application/pdf", b"%PDF-1.7\n%offer").await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    assert_eq!(stored.header("idempotent-replayed"), "");
    let again = upload(&s, &t, &path, "application/pdf", b"%PDF-1.7\n%offer").await;
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.body, stored.body);
    let listed = s.get(&path, &t.admin_token).await.ok(200).ids();
    assert_eq!(listed, vec![stored.body.str("id")]);
}

#[tokio::test]
async fn parallel_requests_with_one_key_write_once() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let body = contact();
    let sends = (0..8).map(|_| {
        post_keyed(
            &s,
            &t.admin_token,
            "/api/v1/contacts",
            Some(b"parallel-1"),
            &body,
        )
    });
    let answers = futures::future::join_all(sends).await;
    let ran: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == 201 && !a.replayed())
        .collect();
    assert_eq!(ran.len(), 1, "exactly one request ran");
    for a in &answers {
        match a.status {
            201 => assert_eq!(a.bytes, ran[0].bytes, "a replay answers the first answer"),
            409 => {
                assert_eq!(a.json()["type"], "request_in_progress");
                assert_eq!(a.json()["field"], "Idempotency-Key");
                assert_eq!(a.header("retry-after"), "1");
            }
            other => panic!("unexpected {other}: {:?}", a.json()),
        }
    }
    assert_eq!(contacts(&s, &t).await, vec![ran[0].json().str("id")]);
    // Once the first has finished, every retry is a replay.
    let later = post_keyed(
        &s,
        &t.admin_token,
        "/api/v1/contacts",
        Some(b"parallel-1"),
        &body,
    )
    .await;
    assert_eq!((later.status, later.replayed()), (201, true));
}

#[tokio::test]
async fn the_same_key_for_another_request_is_refused() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let key = Some(b"reused-1".as_slice());
    let first = post_keyed(&s, &t.admin_token, "/api/v1/contacts", key, &contact()).await;
    assert_eq!(first.status, 201);
    // Another body, then another path with the same key.
    let other = post_keyed(&s, &t.admin_token, "/api/v1/contacts", key, &contact()).await;
    assert_eq!(other.status, 422);
    assert_eq!(other.json()["type"], "idempotency_key_reused");
    assert_eq!(other.json()["field"], "Idempotency-Key");
    let teams = || async { s.get("/api/v1/teams", &t.admin_token).await.ok(200).ids() };
    let before = teams().await;
    let team = json!({"name": unique("Team")});
    let elsewhere = post_keyed(&s, &t.admin_token, "/api/v1/teams", key, &team).await;
    assert_eq!(elsewhere.status, 422);
    assert_eq!(elsewhere.json()["type"], "idempotency_key_reused");
    assert_eq!(contacts(&s, &t).await, vec![first.json().str("id")]);
    assert_eq!(teams().await, before, "the refused request did not run");
}

#[tokio::test]
async fn keys_belong_to_their_principal() {
    let s = TestServer::start().await;
    let a = s.tenant("go").await;
    let b = s.tenant("go").await;
    let seller = s
        .create_user(&a.admin_token, &["salesperson"], Some(&a.establishment_id))
        .await;
    let body = contact();
    let key = Some(b"shared-key".as_slice());
    // One body under one key: each principal's request runs on its own.
    let mut ids = Vec::new();
    for token in [&a.admin_token, &seller.token, &b.admin_token] {
        let answer = post_keyed(&s, token, "/api/v1/contacts", key, &body).await;
        assert_eq!(answer.status, 201, "{:?}", answer.json());
        assert!(
            !answer.replayed(),
            "another principal's key is not this one's"
        );
        ids.push(answer.json().str("id"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 3);
    // Each tenant sees its own contacts only; a replay for B answers B's contact.
    assert_eq!(contacts(&s, &a).await.len(), 2);
    assert_eq!(contacts(&s, &b).await, vec![ids[2].clone()]);
    let again = post_keyed(&s, &b.admin_token, "/api/v1/contacts", key, &body).await;
    assert!(again.replayed());
    assert_eq!(again.json().str("id"), ids[2]);
    s.get(&format!("/api/v1/contacts/{}", ids[2]), &a.admin_token)
        .await
        .problem(404, "not_found");

    // A platform account's keys are its own too.
    let op = s.operator().await;
    let reseller = |email: String| json!({"name": unique("Reseller"), "user": {"email": email, "name": "R", "password": PASSWORD}});
    let made = post_keyed(
        &s,
        &op,
        "/api/v1/platform/resellers",
        key,
        &reseller(unique_email("r")),
    )
    .await;
    assert_eq!((made.status, made.replayed()), (201, false));
}

#[tokio::test]
async fn a_key_is_honoured_across_nodes() {
    let a = TestServer::start().await;
    let b = TestServer::start_sharing(&a, |_| {}).await;
    let t = a.tenant("go").await;
    let body = contact();
    let key = Some(b"two-nodes".as_slice());
    let first = post_keyed(&a, &t.admin_token, "/api/v1/contacts", key, &body).await;
    assert_eq!(first.status, 201);
    let on_b = post_keyed(&b, &t.admin_token, "/api/v1/contacts", key, &body).await;
    assert_eq!((on_b.status, on_b.replayed()), (201, true));
    assert_eq!(on_b.bytes, first.bytes);
    let other = post_keyed(&b, &t.admin_token, "/api/v1/contacts", key, &contact()).await;
    assert_eq!(other.json()["type"], "idempotency_key_reused");
    assert_eq!(contacts(&b, &t).await, vec![first.json().str("id")]);

    // Sent to both nodes at once: one write.
    let body = contact();
    let key = Some(b"two-nodes-at-once".as_slice());
    let (x, y) = tokio::join!(
        post_keyed(&a, &t.admin_token, "/api/v1/contacts", key, &body),
        post_keyed(&b, &t.admin_token, "/api/v1/contacts", key, &body),
    );
    let ran = [&x, &y]
        .iter()
        .filter(|r| r.status == 201 && !r.replayed())
        .count();
    assert_eq!(
        ran,
        1,
        "{} {:?} / {} {:?}",
        x.status,
        x.json(),
        y.status,
        y.json()
    );
    for r in [&x, &y] {
        assert!(
            r.status == 201 || r.json()["type"] == "request_in_progress",
            "{} {:?}",
            r.status,
            r.json()
        );
    }
    assert_eq!(contacts(&a, &t).await.len(), 2);
}

#[tokio::test]
async fn a_malformed_key_is_refused_naming_the_header() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let too_long = "k".repeat(256);
    let bad: [&[u8]; 4] = [
        too_long.as_bytes(),
        b"tab\there",
        "caf\u{e9}".as_bytes(),
        b"",
    ];
    for key in bad {
        let answer = post_keyed(
            &s,
            &t.admin_token,
            "/api/v1/contacts",
            Some(key),
            &contact(),
        )
        .await;
        assert_eq!(answer.status, 422, "{key:?}: {:?}", answer.json());
        assert_eq!(answer.json()["type"], "validation_error");
        assert_eq!(answer.json()["field"], "Idempotency-Key");
    }
    // The longest key is fine.
    let longest = "k".repeat(255);
    let ok = post_keyed(
        &s,
        &t.admin_token,
        "/api/v1/contacts",
        Some(longest.as_bytes()),
        &contact(),
    )
    .await;
    assert_eq!(ok.status, 201);
    assert_eq!(contacts(&s, &t).await.len(), 1, "no refused request wrote");
}

#[tokio::test]
async fn a_post_without_a_key_behaves_as_before() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let body = contact();
    let first = post_keyed(&s, &t.admin_token, "/api/v1/contacts", None, &body).await;
    assert_eq!(first.status, 201);
    assert!(!first.replayed());
    // The same body again is a second request, and a second contact (duplicates are the
    // client's to avoid).
    let second = post_keyed(&s, &t.admin_token, "/api/v1/contacts", None, &body).await;
    assert_eq!((second.status, second.replayed()), (201, false));
    assert_ne!(second.json().str("id"), first.json().str("id"));
    assert_eq!(contacts(&s, &t).await.len(), 2);
    // Keys apply to authenticated POSTs only: elsewhere the header is ignored.
    let listed = s
        .send_with(
            Method::GET,
            "/api/v1/contacts",
            &t.admin_token,
            &[("idempotency-key", "tab\there")],
            Vec::new(),
        )
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.header("idempotent-replayed"), "");
    let login = json!({"email": t.admin_email, "password": t.admin_password}).to_string();
    for _ in 0..2 {
        let answer = s
            .send_with(
                Method::POST,
                "/api/v1/auth/login",
                "",
                &[
                    ("content-type", "application/json"),
                    ("idempotency-key", "login"),
                ],
                login.clone().into_bytes(),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.header("idempotent-replayed"), "");
    }
}

#[tokio::test]
async fn the_document_describes_the_key_on_authenticated_posts() {
    let s = TestServer::start().await;
    let doc = s.get("/api/v1/openapi.json", "").await.ok(200);
    let has_key = |op: &Value| {
        op["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
        })
    };
    let mut posts = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op["security"].as_array().is_some_and(|r| {
                !r.is_empty()
                    && r.iter()
                        .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            });
            let expected = method == "post" && secured;
            assert_eq!(has_key(op), expected, "{method} {path}");
            if expected {
                posts += 1;
                for status in ["409", "422"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{status} of POST {path}"
                    );
                }
            }
        }
    }
    assert!(posts > 20, "only {posts} authenticated POSTs documented");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let ui = s.send(Method::GET, "/docs", "", &Value::Null).await;
    assert!(
        ui.body
            .as_str()
            .is_some_and(|html| html.contains("Idempotent-Replayed"))
    );
}
