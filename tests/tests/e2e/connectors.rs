//! Media connectors: configuration and secrets, the signed inbound endpoint (JSON and ADF),
//! idempotency under concurrency, the delivery log and replays, and isolation between tenants.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Duration, TimeZone, Utc};
use forecourt_tests::{
    Expect, Json, Method, PASSWORD, StatusCode, Tenant, TestServer, unique, unique_email,
};
use hmac::{Hmac, Mac};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use sha2::Sha256;

const CONNECTORS: &str = "/api/v1/connectors";

// ---------------------------------------------------------------------------------------------
// The partner's side.

/// A connector as the partner knows it.
#[derive(Clone, Debug)]
struct Partner {
    id: String,
    secret: String,
}

impl Partner {
    fn path(&self) -> String {
        format!("/inbound/{}/leads", self.id)
    }
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the decoded secret.
pub(crate) fn sign(secret: &str, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{webhook_id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Posts a delivery to the inbound path with exactly these headers; a refusal (other than an
/// unknown connector's 404) must be a problem document.
async fn inbound(
    s: &TestServer,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = s.send_with(Method::POST, path, "", &headers, body).await;
    if !reply.status.is_success() && reply.status != StatusCode::NOT_FOUND {
        assert!(
            reply.content_type().starts_with("application/problem+json"),
            "a refusal is a problem document, not {:?}",
            reply.content_type()
        );
    }
    (reply.status, reply.body)
}

/// Sends a delivery signed with `secret` at `at`.
async fn deliver_signed(
    s: &TestServer,
    p: &Partner,
    secret: &str,
    at: DateTime<Utc>,
    webhook_id: &str,
    content_type: &str,
    body: &[u8],
) -> (StatusCode, Value) {
    let ts = at.timestamp();
    let headers = [
        ("content-type", content_type.to_string()),
        ("webhook-id", webhook_id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign(secret, webhook_id, ts, body)),
    ];
    inbound(s, &p.path(), &headers, body.to_vec()).await
}

/// Sends a body signed now with the connector's secret and a fresh `webhook-id`.
async fn deliver(
    s: &TestServer,
    p: &Partner,
    content_type: &str,
    body: &[u8],
) -> (StatusCode, Value) {
    deliver_signed(
        s,
        p,
        &p.secret,
        Utc::now(),
        &unique("msg"),
        content_type,
        body,
    )
    .await
}

/// Sends a JSON lead document.
async fn push(s: &TestServer, p: &Partner, doc: &Value) -> (StatusCode, Value) {
    deliver(s, p, "application/json", doc.to_string().as_bytes()).await
}

/// A Belgian mobile number nobody else in the test has (contacts also match by phone): a
/// counter from a random start, so a thousand of them never collide.
fn mobile() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| (uuid::Uuid::now_v7().as_u128() % 1_000_000) as u64);
    let n = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % 1_000_000;
    format!("0470 {:02} {:02} {:02}", n / 10_000, n / 100 % 100, n % 100)
}

/// A JSON lead document with one prospect for `email`, with partner lead id `lead_id`.
fn lead(lead_id: Option<&str>, email: &str) -> Value {
    let mut p = json!({
        "request_date": "2026-03-01T10:00:00Z",
        "customer": {
            "first_name": "Jan",
            "last_name": "Peeters",
            "emails": [email],
            "phones": [{"number": mobile(), "kind": "cellphone"}],
            "comments": "Is the Corsa still available?"
        },
        "vehicles": [
            {"interest": "buy", "status": "used", "make": "Opel", "model": "Corsa", "year": 2023, "price": 16990},
            {"interest": "trade_in", "make": "Ford", "model": "Fiesta", "year": 2014, "mileage_km": 120000, "appraisal": 3500}
        ],
        "timeframe": {"description": "within a month"},
        "provider": {"name": "AutoScout24", "service": "Dealer leads"},
        "extensions": [{"path": "provider/campaign", "value": "spring"}]
    });
    if let Some(id) = lead_id {
        p["ids"] = json!([{"value": id, "source": "AutoScout24"}]);
    }
    json!({"prospects": [p]})
}

/// Creates a connector (admin token) and answers it with its secret.
async fn connector(s: &TestServer, token: &str, body: Value) -> (Partner, Value) {
    let c = s.post(CONNECTORS, token, body).await.ok(201);
    let p = Partner {
        id: c.str("id"),
        secret: c.str("secret"),
    };
    (p, c)
}

async fn autoscout(s: &TestServer, t: &Tenant) -> (Partner, Value) {
    connector(
        s,
        &t.admin_token,
        json!({"partner": "AutoScout24", "name": "AutoScout24 Leuven"}),
    )
    .await
}

fn only_result(answer: &Value) -> Value {
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{answer}");
    results[0].clone()
}

fn deliveries(p: &Partner) -> String {
    format!("{CONNECTORS}/{}/deliveries", p.id)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../modules/connectors/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|_| {
        // A minimal ADF lead, should the fixture be missing.
        br#"<?xml version="1.0"?><?adf version="1.0"?><adf><prospect><id source="AutoScout24">AS24-99817</id>
        <vehicle interest="trade-in"><make>Ford</make><model>Focus</model><price type="appraisal">6500</price></vehicle>
        <vehicle interest="buy"><make>Volkswagen</make><model>Golf</model></vehicle>
        <customer><contact><name part="full">Marie Peeters</name><email>marie.peeters@example.be</email></contact></customer>
        <provider><name>AutoScout24</name></provider></prospect></adf>"#
            .to_vec()
    })
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connectors_are_configured_with_a_secret_shown_once_and_the_partner_source() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();

    let (p, created) = connector(
        &s,
        tok,
        json!({"partner": "  mobile.de ", "name": "mobile.de Gent", "establishment_id": t.establishment_id}),
    )
    .await;
    assert!(p.secret.starts_with("whsec_"), "{created}");
    assert_eq!(STANDARD.decode(&p.secret[6..]).unwrap().len(), 32);
    assert_eq!(created["partner"], "mobile.de");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["establishment_id"], t.establishment_id.as_str());
    assert_eq!(created["inbound_path"], format!("/inbound/{}/leads", p.id));
    // The source named after the partner was created, and is reused whatever the case.
    let source_id = created.str("source_id");
    let source = s
        .get(&format!("/api/v1/lead-sources/{source_id}"), tok)
        .await
        .ok(200);
    assert_eq!(source["name"], "mobile.de");
    let (_, again) = connector(&s, tok, json!({"partner": "MOBILE.DE", "name": "Second"})).await;
    assert_eq!(again["source_id"], source_id.as_str());
    // A source chosen explicitly is kept.
    let own = s.create_source(tok).await.str("id");
    let (_, chosen) = connector(
        &s,
        tok,
        json!({"partner": "Website", "name": "Site", "source_id": own, "enabled": false}),
    )
    .await;
    assert_eq!(chosen["source_id"], own.as_str());
    assert_eq!(chosen["enabled"], false);

    // The secret is never shown again.
    let one = s.get(&format!("{CONNECTORS}/{}", p.id), tok).await.ok(200);
    assert!(one.get("secret").is_none(), "{one}");
    assert!(!one.to_string().contains(&p.secret));
    let list = s.get(CONNECTORS, tok).await.ok(200);
    assert_eq!(list.items().len(), 3);
    assert!(!list.to_string().contains("whsec_"), "{list}");

    // Changes.
    let patched = s
        .patch(
            &format!("{CONNECTORS}/{}", p.id),
            tok,
            json!({"name": "mobile.de (Gent)", "enabled": false, "establishment_id": null}),
        )
        .await
        .ok(200);
    assert_eq!(patched["name"], "mobile.de (Gent)");
    assert_eq!(patched["enabled"], false);
    assert!(patched["establishment_id"].is_null());
    let back = s
        .patch(
            &format!("{CONNECTORS}/{}", p.id),
            tok,
            json!({"source_id": own}),
        )
        .await
        .ok(200);
    assert_eq!(back["source_id"], own.as_str());
    let reset = s
        .patch(
            &format!("{CONNECTORS}/{}", p.id),
            tok,
            json!({"source_id": null}),
        )
        .await
        .ok(200);
    assert_eq!(
        reset["source_id"],
        source_id.as_str(),
        "null: the partner's source"
    );

    // Validation names the field; another tenant's establishment or source is refused.
    let other = s.tenant("expert").await;
    let other_source = s.create_source(&other.admin_token).await.str("id");
    for (body, field) in [
        (json!({"partner": " ", "name": "x"}), "partner"),
        (json!({"partner": "x".repeat(101), "name": "x"}), "partner"),
        (json!({"partner": "Gocar", "name": ""}), "name"),
        (json!({"name": "x"}), "partner"),
        (
            json!({"partner": "Gocar", "name": "x", "secret": "whsec_x"}),
            "secret",
        ),
        (
            json!({"partner": "Gocar", "name": "x", "establishment_id": other.establishment_id}),
            "establishment_id",
        ),
        (
            json!({"partner": "Gocar", "name": "x", "source_id": other_source}),
            "source_id",
        ),
        (
            json!({"partner": "Gocar", "name": "x", "source_id": uuid::Uuid::now_v7()}),
            "source_id",
        ),
    ] {
        s.post(CONNECTORS, tok, body).await.invalid(field);
    }
    for (body, field) in [
        (json!({"partner": "Gocar"}), "partner"),
        (json!({"name": ""}), "name"),
        (json!({"source_id": other_source}), "source_id"),
        (
            json!({"establishment_id": other.establishment_id}),
            "establishment_id",
        ),
    ] {
        s.patch(&format!("{CONNECTORS}/{}", p.id), tok, body)
            .await
            .invalid(field);
    }

    // Managers read, only those with write change; salespeople see nothing.
    let manager = s
        .create_user(tok, &["manager"], Some(&t.establishment_id))
        .await;
    s.get(CONNECTORS, &manager.token).await.ok(200);
    s.get(&deliveries(&p), &manager.token).await.ok(200);
    s.post(
        CONNECTORS,
        &manager.token,
        json!({"partner": "Gocar", "name": "x"}),
    )
    .await
    .problem(403, "forbidden");
    s.post(
        &format!("{CONNECTORS}/{}/rotate-secret", p.id),
        &manager.token,
        Value::Null,
    )
    .await
    .problem(403, "forbidden");
    let seller = s
        .create_user(tok, &["salesperson"], Some(&t.establishment_id))
        .await;
    s.get(CONNECTORS, &seller.token)
        .await
        .problem(403, "forbidden");

    // Every change is in the activity log, never with a secret.
    let db = forecourt_core::db::connect(&s.config.database_url())
        .await
        .unwrap();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT action, CAST(changes AS TEXT) AS changes FROM activity_log \
             WHERE tenant_id = $1 AND entity_type = 'connector'",
            [uuid::Uuid::parse_str(&t.tenant_id).unwrap().into()],
        ))
        .await
        .unwrap();
    let actions: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "action").unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "created").count(), 3);
    assert_eq!(actions.iter().filter(|a| *a == "updated").count(), 3);
    for r in &rows {
        let changes: String = r.try_get("", "changes").unwrap();
        assert!(!changes.contains("whsec_"), "{changes}");
    }
}

#[tokio::test]
async fn a_json_lead_lands_once_whatever_the_redeliveries() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, c) = autoscout(&s, &t).await;
    let email = unique_email("jan");

    let doc = lead(Some("AS-1001"), &email);
    let first = push(&s, &p, &doc).await.ok(202);
    let r = only_result(&first);
    assert_eq!(r["outcome"], "created", "{first}");
    assert_eq!(r["lead_key"], "AS-1001@autoscout24");
    assert_eq!(first["outcome"], "accepted");
    let opp = r.str("opportunity_id");
    let contact = r.str("contact_id");
    let o = s
        .get(&format!("/api/v1/opportunities/{opp}"), tok)
        .await
        .ok(200);
    assert_eq!(o["source_id"], c["source_id"], "{o}");
    let info = o["customer_info"].as_str().unwrap_or_default();
    for want in [
        "Is the Corsa still available?",
        "AS-1001@AutoScout24",
        "provider/campaign: spring",
    ] {
        assert!(info.contains(want), "{want:?} missing from {info:?}");
    }
    let cont = s
        .get(&format!("/api/v1/contacts/{contact}"), tok)
        .await
        .ok(200);
    assert_eq!(cont["emails"][0], email.as_str());

    // The same lead again (a partner's retry with a new webhook-id, or a resend): duplicate.
    let mut resend = doc.clone();
    resend["prospects"][0]["status"] = json!("resend");
    for body in [&doc, &resend] {
        let again = push(&s, &p, body).await.ok(202);
        let d = only_result(&again);
        assert_eq!(d["outcome"], "duplicate", "{again}");
        assert_eq!(d["opportunity_id"], opp.as_str());
        assert_eq!(d["contact_id"], contact.as_str());
        assert_eq!(again["outcome"], "duplicate");
    }

    // Without a lead id, the webhook-id is the key: the same delivery retried is a duplicate.
    let anon = lead(None, &unique_email("anon")).to_string();
    let webhook = unique("msg");
    let once = deliver_signed(
        &s,
        &p,
        &p.secret,
        Utc::now(),
        &webhook,
        "application/json",
        anon.as_bytes(),
    )
    .await
    .ok(202);
    let r1 = only_result(&once);
    assert_eq!(r1["outcome"], "created");
    assert_eq!(r1["lead_key"], format!("webhook:{webhook}#0"));
    let twice = deliver_signed(
        &s,
        &p,
        &p.secret,
        Utc::now(),
        &webhook,
        "application/json",
        anon.as_bytes(),
    )
    .await
    .ok(202);
    let r2 = only_result(&twice);
    assert_eq!(r2["outcome"], "duplicate");
    assert_eq!(r2["opportunity_id"], r1["opportunity_id"]);

    let opps = s.get("/api/v1/opportunities", tok).await.ok(200).items();
    assert_eq!(opps.len(), 2, "{opps:?}");

    // The log: newest first, filtered, each with its body and results.
    let log = s.get(&deliveries(&p), tok).await.ok(200).items();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0]["id"], twice["delivery_id"]);
    assert_eq!(log[4]["id"], first["delivery_id"]);
    assert!(
        log.iter()
            .all(|d| d["status_code"] == 202 && d["body_kept"] == true)
    );
    let dups = s
        .get(&format!("{}?outcome=duplicate", deliveries(&p)), tok)
        .await
        .ok(200)
        .items();
    assert_eq!(dups.len(), 3);
    let page = s
        .get(&format!("{}?limit=2", deliveries(&p)), tok)
        .await
        .ok(200);
    assert_eq!(page.items().len(), 2);
    let cursor = page.str("next_cursor");
    let rest = s
        .get(&format!("{}?limit=10&cursor={cursor}", deliveries(&p)), tok)
        .await
        .ok(200)
        .items();
    assert_eq!(rest.len(), 3);
    assert_eq!(rest[2]["id"], first["delivery_id"]);
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let in_period = s
        .get(&format!("{}?from={today}&to={today}", deliveries(&p)), tok)
        .await
        .ok(200)
        .items();
    assert_eq!(in_period.len(), 5);
    let before = s
        .get(&format!("{}?to=2020-01-01", deliveries(&p)), tok)
        .await
        .ok(200)
        .items();
    assert!(before.is_empty());
    for (query, field) in [
        ("outcome=bogus", "outcome"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("cursor=nope", "cursor"),
    ] {
        s.get(&format!("{}?{query}", deliveries(&p)), tok)
            .await
            .invalid(field);
    }
    let detail = s
        .get(
            &format!("{}/{}", deliveries(&p), first.str("delivery_id")),
            tok,
        )
        .await
        .ok(200);
    assert_eq!(detail["body_encoding"], "utf8");
    assert_eq!(
        serde_json::from_str::<Value>(detail["body"].as_str().unwrap()).unwrap(),
        doc
    );
    assert_eq!(detail["results"][0]["outcome"], "created");
    assert_eq!(detail["outcome"], "accepted");
    assert!(detail["processed_at"].is_string());
    // Accepted deliveries are not replayed.
    s.post(
        &format!("{}/{}/replay", deliveries(&p), first.str("delivery_id")),
        tok,
        Value::Null,
    )
    .await
    .problem(409, "not_replayable");
}

#[tokio::test]
async fn adf_leads_are_read_by_content_type() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, c) = autoscout(&s, &t).await;

    let adf = fixture("trade-in.xml");
    let answer = deliver(&s, &p, "application/xml", &adf).await.ok(202);
    let r = only_result(&answer);
    assert_eq!(r["outcome"], "created", "{answer}");
    let o = s
        .get(
            &format!("/api/v1/opportunities/{}", r.str("opportunity_id")),
            tok,
        )
        .await
        .ok(200);
    assert_eq!(o["source_id"], c["source_id"]);
    // The same document as text/xml is the same lead.
    let again = deliver(&s, &p, "text/xml", &adf).await.ok(202);
    assert_eq!(only_result(&again)["outcome"], "duplicate");

    // Several prospects: one result each, in order.
    let multi = fixture("multi-prospect.xml");
    let many = deliver(&s, &p, "application/x-adf+xml", &multi)
        .await
        .ok(202);
    let results = many["results"].as_array().unwrap();
    assert!(results.len() >= 2, "{many}");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
    }
    assert!(results.iter().any(|r| r["outcome"] == "created"), "{many}");
    // A Latin-1 document, declared by its charset parameter too.
    let latin = fixture("latin1.xml");
    let (status, body) = deliver(&s, &p, "text/xml; charset=ISO-8859-1", &latin).await;
    assert!(
        status == 202 || status == 422,
        "Latin-1 is read: {status} {body}"
    );
    assert_ne!(body["type"], "malformed_xml", "{body}");

    // A hostile document: refused with the parser's type, kept in the log.
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE adf [<!ENTITY x SYSTEM "file:///etc/passwd">]><adf><prospect><customer><contact><name>&x;</name></contact></customer></prospect></adf>"#;
    let refused = deliver(&s, &p, "application/xml", xxe).await.ok(422);
    assert_eq!(refused["type"], "dtd_refused", "{refused}");
    let kept = s
        .get(
            &format!("{}/{}", deliveries(&p), refused.str("delivery_id")),
            tok,
        )
        .await
        .ok(200);
    assert_eq!(kept["outcome"], "rejected");
    assert_eq!(kept["error"]["type"], "dtd_refused");
    assert_eq!(kept["body"], String::from_utf8_lossy(xxe).as_ref());
}

#[tokio::test]
async fn bad_signatures_are_refused_and_create_nothing() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, _) = autoscout(&s, &t).await;
    let body = lead(Some("SIG-1"), &unique_email("sig")).to_string();
    let bytes = body.as_bytes();
    let now = Utc::now();
    let ts = now.timestamp();
    let id = "msg_sig";
    let good = sign(&p.secret, id, ts, bytes);
    let other_secret = format!("whsec_{}", STANDARD.encode([7u8; 32]));
    let ct = ("content-type", "application/json".to_string());
    let hid = ("webhook-id", id.to_string());
    let hts = ("webhook-timestamp", ts.to_string());
    let hsig = ("webhook-signature", good.clone());
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<u8>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no webhook-id",
            vec![ct.clone(), hts.clone(), hsig.clone()],
            bytes.to_vec(),
            "webhook-id",
        ),
        (
            "no timestamp",
            vec![ct.clone(), hid.clone(), hsig.clone()],
            bytes.to_vec(),
            "webhook-timestamp",
        ),
        (
            "no signature",
            vec![ct.clone(), hid.clone(), hts.clone()],
            bytes.to_vec(),
            "webhook-signature",
        ),
        (
            "wrong secret",
            vec![
                ct.clone(),
                hid.clone(),
                hts.clone(),
                ("webhook-signature", sign(&other_secret, id, ts, bytes)),
            ],
            bytes.to_vec(),
            "matches",
        ),
        (
            "tampered body",
            vec![ct.clone(), hid.clone(), hts.clone(), hsig.clone()],
            body.replace("Peeters", "Janssens").into_bytes(),
            "matches",
        ),
        (
            "another webhook-id",
            vec![
                ct.clone(),
                ("webhook-id", "msg_other".into()),
                hts.clone(),
                hsig.clone(),
            ],
            bytes.to_vec(),
            "matches",
        ),
        (
            "not v1",
            vec![
                ct.clone(),
                hid.clone(),
                hts.clone(),
                ("webhook-signature", good.replace("v1,", "v2,")),
            ],
            bytes.to_vec(),
            "v1",
        ),
        (
            "garbage timestamp",
            vec![
                ct.clone(),
                hid.clone(),
                ("webhook-timestamp", "now".into()),
                hsig.clone(),
            ],
            bytes.to_vec(),
            "Unix time",
        ),
    ];
    for (what, headers, body, says) in cases {
        let (status, reply) = inbound(&s, &p.path(), &headers, body).await;
        assert_eq!(status, 401, "{what}: {reply}");
        assert_eq!(reply["type"], "invalid_signature", "{what}: {reply}");
        let detail = reply.str("detail");
        assert!(detail.contains(says), "{what}: {detail}");
        assert!(!detail.contains(&good[3..]), "{what} leaks the signature");
        assert!(reply["delivery_id"].is_string(), "{what}: {reply}");
    }
    // Six minutes old, six minutes ahead: refused, even with a valid signature.
    for offset in [-6, 6] {
        let at = now + Duration::minutes(offset);
        let (status, reply) =
            deliver_signed(&s, &p, &p.secret, at, "msg_time", "application/json", bytes).await;
        assert_eq!(status, 401, "{offset} min: {reply}");
        assert_eq!(reply["type"], "invalid_signature");
        let says = if offset < 0 {
            "in the past"
        } else {
            "in the future"
        };
        assert!(reply.str("detail").contains(says), "{reply}");
    }
    // Nothing landed; every attempt is logged, without its body.
    assert!(
        s.get("/api/v1/opportunities", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );
    assert!(
        s.get("/api/v1/contacts", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );
    let log = s.get(&deliveries(&p), tok).await.ok(200).items();
    assert_eq!(log.len(), 10);
    for d in &log {
        assert_eq!(d["outcome"], "rejected");
        assert_eq!(d["status_code"], 401);
        assert_eq!(d["body_kept"], false);
        assert_eq!(d["replayable"], false);
        assert_eq!(d["error"]["type"], "invalid_signature");
    }
    let one = s
        .get(&format!("{}/{}", deliveries(&p), log[0].str("id")), tok)
        .await
        .ok(200);
    assert!(one["body"].is_null(), "{one}");
    assert_eq!(one["size"], bytes.len());
    s.post(
        &format!("{}/{}/replay", deliveries(&p), log[0].str("id")),
        tok,
        Value::Null,
    )
    .await
    .problem(409, "not_replayable");
    // The right signature still works.
    let (status, ok) = deliver_signed(&s, &p, &p.secret, now, id, "application/json", bytes).await;
    assert_eq!(status, 202, "{ok}");
}

#[tokio::test]
async fn a_rotated_secret_keeps_working_for_a_day() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    // The expiry sweep stays out of the way of the moved clock.
    let (s, clock) = TestServer::start_clocked(t0, |cfg| cfg.expiry_sweep_secs = 3600).await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.clone();
    let (p, _) = connector(&s, &tok, json!({"partner": "Gocar", "name": "Gocar"})).await;
    let old = p.secret.clone();
    let json_lead = |id: &str| {
        lead(Some(id), &unique_email("rot"))
            .to_string()
            .into_bytes()
    };

    let (st, r) = deliver_signed(
        &s,
        &p,
        &old,
        t0,
        "m1",
        "application/json",
        &json_lead("R-1"),
    )
    .await;
    assert_eq!(st, 202, "{r}");

    let rotated = s
        .post(
            &format!("{CONNECTORS}/{}/rotate-secret", p.id),
            &tok,
            Value::Null,
        )
        .await
        .ok(200);
    let new = rotated.str("secret");
    assert!(new.starts_with("whsec_") && new != old);
    let until = DateTime::parse_from_rfc3339(&rotated.str("previous_valid_until")).unwrap();
    assert_eq!(until, t0 + Duration::hours(24));
    let shown = s.get(&format!("{CONNECTORS}/{}", p.id), &tok).await.ok(200);
    assert!(shown["previous_secret_valid_until"].is_string(), "{shown}");

    // During the grace period both secrets are accepted.
    let at = t0 + Duration::hours(23);
    clock.set(at);
    for (secret, id) in [(&old, "R-2"), (&new, "R-3")] {
        let (st, r) = deliver_signed(
            &s,
            &p,
            secret,
            at,
            &unique("m"),
            "application/json",
            &json_lead(id),
        )
        .await;
        assert_eq!(st, 202, "{r}");
        assert_eq!(only_result(&r)["outcome"], "created");
    }
    // After it, only the new one.
    let at = t0 + Duration::hours(24) + Duration::seconds(1);
    clock.set(at);
    let (st, r) = deliver_signed(
        &s,
        &p,
        &old,
        at,
        &unique("m"),
        "application/json",
        &json_lead("R-4"),
    )
    .await;
    assert_eq!(st, 401, "{r}");
    assert_eq!(r["type"], "invalid_signature");
    let (st, r) = deliver_signed(
        &s,
        &p,
        &new,
        at,
        &unique("m"),
        "application/json",
        &json_lead("R-5"),
    )
    .await;
    assert_eq!(st, 202, "{r}");
    let tok = s.login(&t.admin_email, PASSWORD).await;
    let shown = s.get(&format!("{CONNECTORS}/{}", p.id), &tok).await.ok(200);
    assert!(shown["previous_secret_valid_until"].is_null(), "{shown}");
    s.stop().await;
}

#[tokio::test]
async fn a_disabled_connector_logs_the_delivery_for_a_replay() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, c) = connector(
        &s,
        tok,
        json!({"partner": "2dehands", "name": "2dehands", "enabled": false}),
    )
    .await;
    let doc = lead(Some("2DH-77"), &unique_email("dis"));
    let refused = push(&s, &p, &doc).await.problem(403, "connector_disabled");
    let delivery = refused.str("delivery_id");
    assert!(
        s.get("/api/v1/opportunities", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );
    let logged = s
        .get(&format!("{}/{delivery}", deliveries(&p)), tok)
        .await
        .ok(200);
    assert_eq!(logged["outcome"], "rejected");
    assert_eq!(logged["status_code"], 403);
    assert_eq!(logged["replayable"], true);
    assert_eq!(logged["error"]["type"], "connector_disabled");

    // Replaying while still disabled is refused again (and logged).
    let replay = format!("{}/{delivery}/replay", deliveries(&p));
    s.post(&replay, tok, Value::Null)
        .await
        .problem(403, "connector_disabled");
    // Fixed: enabled, then replayed with the current configuration.
    s.patch(
        &format!("{CONNECTORS}/{}", p.id),
        tok,
        json!({"enabled": true}),
    )
    .await
    .ok(200);
    let manager = s
        .create_user(tok, &["manager"], Some(&t.establishment_id))
        .await;
    s.post(&replay, &manager.token, Value::Null)
        .await
        .problem(403, "forbidden");
    let done = s.post(&replay, tok, Value::Null).await.ok(202);
    let r = only_result(&done);
    assert_eq!(r["outcome"], "created", "{done}");
    let o = s
        .get(
            &format!("/api/v1/opportunities/{}", r.str("opportunity_id")),
            tok,
        )
        .await
        .ok(200);
    assert_eq!(o["source_id"], c["source_id"]);
    let new = s
        .get(
            &format!("{}/{}", deliveries(&p), done.str("delivery_id")),
            tok,
        )
        .await
        .ok(200);
    assert_eq!(new["replay_of"], delivery.as_str());
    assert_eq!(new["outcome"], "accepted");
    assert_eq!(new["replayable"], false);
    // A second replay of the refused delivery lands nothing new.
    let twice = s.post(&replay, tok, Value::Null).await.ok(202);
    assert_eq!(only_result(&twice)["outcome"], "duplicate");
    assert_eq!(only_result(&twice)["opportunity_id"], r["opportunity_id"]);
    s.post(
        &format!("{}/{}/replay", deliveries(&p), done.str("delivery_id")),
        tok,
        Value::Null,
    )
    .await
    .problem(409, "not_replayable");
}

/// Pushes a lead until the connector's tenant facts (cached) have caught up and it is refused
/// with 403; answers the refusal (or `Null` after 3 s).
async fn pushed_until_refused(s: &TestServer, p: &Partner, lead_id: &str) -> Value {
    for _ in 0..30 {
        let (st, r) = push(s, p, &lead(Some(lead_id), &unique_email("lead"))).await;
        if st == 403 {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Value::Null
}

#[tokio::test]
async fn go_tenants_have_no_connectors() {
    let s = TestServer::start().await;
    let t = s.tenant("go").await;
    let tok = t.admin_token.as_str();
    let body = s
        .get(CONNECTORS, tok)
        .await
        .problem(403, "module_not_licensed");
    assert_eq!(body["module"], "connectors");
    s.post(CONNECTORS, tok, json!({"partner": "Gocar", "name": "x"}))
        .await
        .problem(403, "module_not_licensed");

    // A connector of a tenant that moves down to Go refuses deliveries (and logs them).
    let e = s.tenant("expert").await;
    let (p, _) = autoscout(&s, &e).await;
    let op = s.operator().await;
    s.patch(
        &format!("/api/v1/platform/tenants/{}", e.tenant_id),
        &op,
        json!({"licence": "go"}),
    )
    .await
    .ok(200);
    // Tenant facts are cached; the change reaches every node within the propagation delay.
    let refused = pushed_until_refused(&s, &p, "GO-1").await;
    assert_eq!(refused["type"], "module_not_licensed", "{refused}");
    assert!(refused["delivery_id"].is_string());

    // A suspended tenant's connectors refuse deliveries too.
    let x = s.tenant("expert").await;
    let (px, _) = autoscout(&s, &x).await;
    s.patch(
        &format!("/api/v1/platform/tenants/{}", x.tenant_id),
        &op,
        json!({"status": "suspended"}),
    )
    .await
    .ok(200);
    let refused = pushed_until_refused(&s, &px, "S-1").await;
    assert_eq!(refused["type"], "tenant_suspended", "{refused}");
}

#[tokio::test]
async fn another_tenants_connectors_and_deliveries_are_not_found() {
    let s = TestServer::start().await;
    let a = s.tenant("expert").await;
    let b = s.tenant("expert").await;
    let (pa, _) = autoscout(&s, &a).await;
    let (pb, _) = autoscout(&s, &b).await;
    let refused = push(&s, &pa, &json!({"prospects": []})).await.ok(422);
    let da = refused.str("delivery_id");
    let db = push(&s, &pb, &json!({"prospects": []}))
        .await
        .ok(422)
        .str("delivery_id");
    let tok = b.admin_token.as_str();
    let requests = vec![
        (Method::GET, format!("{CONNECTORS}/{}", pa.id), Value::Null),
        (
            Method::PATCH,
            format!("{CONNECTORS}/{}", pa.id),
            json!({"name": "mine"}),
        ),
        (
            Method::POST,
            format!("{CONNECTORS}/{}/rotate-secret", pa.id),
            Value::Null,
        ),
        (Method::GET, deliveries(&pa), Value::Null),
        (
            Method::GET,
            format!("{}/{da}", deliveries(&pa)),
            Value::Null,
        ),
        (
            Method::POST,
            format!("{}/{da}/replay", deliveries(&pa)),
            Value::Null,
        ),
        // Its own connector with the other tenant's delivery.
        (
            Method::GET,
            format!("{}/{da}", deliveries(&pb)),
            Value::Null,
        ),
        (
            Method::POST,
            format!("{}/{da}/replay", deliveries(&pb)),
            Value::Null,
        ),
        // And a delivery of another of its connectors... of the other tenant.
        (
            Method::GET,
            format!("{}/{db}", deliveries(&pa)),
            Value::Null,
        ),
        (
            Method::GET,
            format!("{CONNECTORS}/{}", uuid::Uuid::now_v7()),
            Value::Null,
        ),
    ];
    let failures = s
        .unexpected(tok, requests, |st, body| {
            st == 404 && body["type"] == "not_found"
        })
        .await;
    assert!(failures.is_empty(), "{failures:#?}");
    // B's list shows only its own.
    let list = s.get(CONNECTORS, tok).await.ok(200);
    assert_eq!(list.ids(), vec![pb.id.clone()]);
    // A's connector is untouched.
    let mine = s
        .get(&format!("{CONNECTORS}/{}", pa.id), &a.admin_token)
        .await
        .ok(200);
    assert_eq!(mine["name"], "AutoScout24 Leuven");

    // Unknown connectors on the inbound path.
    for path in [
        format!("/inbound/{}/leads", uuid::Uuid::now_v7()),
        "/inbound/not-a-uuid/leads".to_string(),
    ] {
        let ghost = Partner {
            id: path.split('/').nth(2).unwrap().to_string(),
            secret: pa.secret.clone(),
        };
        let (st, r) = push(&s, &ghost, &lead(Some("X"), "x@example.test")).await;
        assert_eq!(st, 404, "{r}");
    }
}

#[tokio::test]
async fn bodies_that_cannot_be_used_are_refused_precisely() {
    let s = TestServer::start_with(|cfg| cfg.max_body_bytes = 64 * 1024).await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, _) = autoscout(&s, &t).await;

    let text = deliver(&s, &p, "text/plain", b"name: Jan").await.ok(415);
    assert_eq!(text["type"], "unsupported_media_type");
    assert_eq!(text["field"], "content-type");
    let (st, _) = deliver(&s, &p, "application/octet-stream", b"{}").await;
    assert_eq!(st, 415);

    let mut doc = lead(Some("U-1"), &unique_email("u"));
    doc["prospects"][0]["customer"]["nickname"] = json!("Jantje");
    let unknown = push(&s, &p, &doc)
        .await
        .invalid("prospects[0].customer.nickname");
    assert!(unknown["delivery_id"].is_string());
    let mut doc = lead(Some("U-2"), &unique_email("u"));
    doc["prospects"][0]["vehicles"][0]["interest"] = json!("rent");
    push(&s, &p, &doc)
        .await
        .invalid("prospects[0].vehicles[0].interest");
    push(&s, &p, &json!({"prospects": []}))
        .await
        .invalid("prospects");
    let malformed = deliver(&s, &p, "application/json", b"{\"prospects\": [")
        .await
        .ok(422);
    assert_eq!(malformed["type"], "malformed_json");

    // A lead without a usable email or phone is the CRM's refusal, per prospect.
    let nobody = json!({"prospects": [{"ids": [{"value": "N-1"}], "customer": {"emails": ["not-an-email"]}}]});
    let refused = push(&s, &p, &nobody).await.ok(422);
    assert_eq!(refused["type"], "lead_rejected", "{refused}");
    assert_eq!(refused["field"], "prospects[0].customer");
    assert_eq!(
        refused["results"][0]["problem"]["type"],
        "contact_unreachable"
    );
    // A name is not a way to reach someone: refused too, and the bad number is quoted.
    let named = json!({"prospects": [{"ids": [{"value": "N-2"}], "customer": {
        "first_name": "Jan", "last_name": "Peeters", "phones": [{"number": "12"}]}}]});
    let refused = push(&s, &p, &named).await.ok(422);
    assert_eq!(
        refused["results"][0]["problem"]["type"],
        "contact_unreachable"
    );
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("Phone as sent: 12"),
        "{refused}"
    );

    // Over the body limit: 413 before anything is read.
    let big = vec![b' '; 65 * 1024];
    let (st, r) = deliver(&s, &p, "application/json", &big).await;
    assert_eq!(st, 413, "{r}");

    assert!(
        s.get("/api/v1/opportunities", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );
    let log = s.get(&deliveries(&p), tok).await.ok(200).items();
    assert_eq!(log.len(), 8, "every refused delivery is logged");
    assert!(
        log.iter()
            .all(|d| d["outcome"] == "rejected" && d["body_kept"] == true)
    );
    let statuses: Vec<i64> = log
        .iter()
        .map(|d| d["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![422, 422, 422, 422, 422, 422, 415, 415]);
}

#[tokio::test]
async fn concurrent_deliveries_of_one_lead_create_it_once() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, _) = autoscout(&s, &t).await;
    let body = lead(Some("RACE-1"), &unique_email("race")).to_string();
    let sends = (0..10).map(|_| deliver(&s, &p, "application/json", body.as_bytes()));
    let answers = futures::future::join_all(sends).await;
    let mut created = 0;
    let mut opportunities = std::collections::HashSet::new();
    for (status, answer) in &answers {
        assert_eq!(*status, 202, "{answer}");
        let r = only_result(answer);
        match r["outcome"].as_str() {
            Some("created") => created += 1,
            Some("duplicate") => {}
            other => panic!("unexpected outcome {other:?}: {answer}"),
        }
        opportunities.insert(r.str("opportunity_id"));
    }
    assert_eq!(created, 1, "{answers:?}");
    assert_eq!(opportunities.len(), 1, "{answers:?}");
    let opps = s.get("/api/v1/opportunities", tok).await.ok(200).items();
    assert_eq!(opps.len(), 1);
    let contacts = s.get("/api/v1/contacts", tok).await.ok(200).items();
    assert_eq!(contacts.len(), 1);
}

#[tokio::test]
async fn a_lead_for_a_customer_with_an_open_opportunity_is_merged_into_it() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, _) = autoscout(&s, &t).await;
    let email = unique_email("known");
    let contact = s
        .post(
            "/api/v1/contacts",
            tok,
            json!({"kind": "person", "first_name": "Jan", "last_name": "Peeters", "emails": [email.to_uppercase()]}),
        )
        .await
        .ok(201)
        .str("id");
    let opp = s
        .post(
            "/api/v1/opportunities",
            tok,
            json!({"contacts": [{"contact_id": contact}], "customer_info": "Walked in on Saturday"}),
        )
        .await
        .ok(201)
        .str("id");
    let answer = push(&s, &p, &lead(Some("M-1"), &email)).await.ok(202);
    let r = only_result(&answer);
    assert_eq!(r["outcome"], "merged", "{answer}");
    assert_eq!(r["opportunity_id"], opp.as_str());
    assert_eq!(r["contact_id"], contact.as_str());
    let o = s
        .get(&format!("/api/v1/opportunities/{opp}"), tok)
        .await
        .ok(200);
    let info = o.str("customer_info");
    assert!(info.starts_with("Walked in on Saturday"), "{info}");
    assert!(info.contains("Is the Corsa still available?"), "{info}");
    assert_eq!(
        s.get("/api/v1/opportunities", tok)
            .await
            .ok(200)
            .items()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_expired_opportunity_gets_a_new_one_at_intake() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    // The sweep stays out of the way: the rule is evaluated at intake.
    let (s, clock) = TestServer::start_clocked(t0, |cfg| cfg.expiry_sweep_secs = 3600).await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.clone();
    s.put(
        "/api/v1/settings/expiry",
        &tok,
        json!({"period_days": 1, "exempt_statuses": []}),
    )
    .await
    .ok(200);
    let (p, _) = connector(&s, &tok, json!({"partner": "Facebook", "name": "Lead ads"})).await;
    let email = unique_email("exp");
    let contact = s
        .post(
            "/api/v1/contacts",
            &tok,
            json!({"kind": "person", "last_name": "Maes", "emails": [email]}),
        )
        .await
        .ok(201)
        .str("id");
    let opp = s
        .post(
            "/api/v1/opportunities",
            &tok,
            json!({"contacts": [{"contact_id": contact}]}),
        )
        .await
        .ok(201)
        .str("id");
    let (srv, p, email) = (&s, &p, &email);
    let send = |id: &'static str, at: DateTime<Utc>| {
        let body = lead(Some(id), email).to_string();
        async move {
            deliver_signed(
                srv,
                p,
                &p.secret,
                at,
                &unique("m"),
                "application/json",
                body.as_bytes(),
            )
            .await
        }
    };

    // A day minus a minute later it is still open: merged.
    let at = t0 + Duration::days(1) - Duration::minutes(1);
    clock.set(at);
    let merged = send("E-1", at).await.ok(202);
    assert_eq!(only_result(&merged)["outcome"], "merged", "{merged}");
    assert_eq!(only_result(&merged)["opportunity_id"], opp.as_str());

    // A day and a minute later it has expired (no sweep ran): a new opportunity.
    let at = t0 + Duration::days(1) + Duration::minutes(1);
    clock.set(at);
    let created = send("E-2", at).await.ok(202);
    let r = only_result(&created);
    assert_eq!(r["outcome"], "created", "{created}");
    assert_ne!(r["opportunity_id"], opp.as_str());
    assert_eq!(r["contact_id"], contact.as_str());
    let tok = s.login(&t.admin_email, PASSWORD).await;
    let fresh = s
        .get(
            &format!("/api/v1/opportunities/{}", r.str("opportunity_id")),
            &tok,
        )
        .await
        .ok(200);
    assert_eq!(fresh["expired"], false);
    s.stop().await;
}

#[tokio::test]
async fn a_blocked_contacts_lead_is_rejected_and_logged() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, _) = autoscout(&s, &t).await;
    let email = unique_email("blocked");
    let contact = s
        .post(
            "/api/v1/contacts",
            tok,
            json!({"kind": "person", "last_name": "Blocked", "emails": [email]}),
        )
        .await
        .ok(201)
        .str("id");
    s.patch(
        &format!("/api/v1/contacts/{contact}"),
        tok,
        json!({"blocked": true}),
    )
    .await
    .ok(200);
    let refused = push(&s, &p, &lead(Some("B-1"), &email)).await.ok(422);
    assert_eq!(refused["type"], "lead_rejected", "{refused}");
    assert!(
        refused.str("field").starts_with("prospects[0]"),
        "{refused}"
    );
    let r = only_result(&refused);
    assert_eq!(r["outcome"], "rejected");
    assert_eq!(r["problem"]["type"], "contact_blocked");
    assert!(r.get("opportunity_id").is_none());
    assert!(
        s.get("/api/v1/opportunities", tok)
            .await
            .ok(200)
            .items()
            .is_empty()
    );

    // Logged with its body, replayable; and a mixed document lands what it can.
    let logged = s
        .get(
            &format!("{}/{}", deliveries(&p), refused.str("delivery_id")),
            tok,
        )
        .await
        .ok(200);
    assert_eq!(logged["outcome"], "rejected");
    assert_eq!(logged["status_code"], 422);
    assert_eq!(logged["results"][0]["problem"]["type"], "contact_blocked");
    assert_eq!(logged["replayable"], true);
    let mut mixed = lead(Some("B-2"), &email);
    let ok = lead(Some("B-3"), &unique_email("fine"))["prospects"][0].clone();
    mixed["prospects"].as_array_mut().unwrap().push(ok);
    let partial = push(&s, &p, &mixed).await.ok(202);
    assert_eq!(partial["outcome"], "partial");
    assert_eq!(partial["results"][0]["outcome"], "rejected");
    assert_eq!(partial["results"][1]["outcome"], "created");
    let listed = s
        .get(&format!("{}?outcome=partial", deliveries(&p)), tok)
        .await
        .ok(200)
        .items();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["replayable"], true);
}

#[tokio::test]
async fn a_landed_lead_is_found_by_search_at_once() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let (p, _) = autoscout(&s, &t).await;
    let email = unique_email("searched");
    let path = format!("/api/v1/search?q={email}");
    // Searched before it exists: the empty answer is cached...
    let before = s.get(&path, &t.admin_token).await.ok(200);
    assert!(
        before["contacts"].as_array().unwrap().is_empty(),
        "{before}"
    );
    let landed = push(&s, &p, &lead(Some("SEARCH-1"), &email)).await.ok(202);
    let contact = only_result(&landed)["contact_id"]
        .as_str()
        .unwrap()
        .to_string();
    // ...and the lead's commit made it stale.
    let after = s.get(&path, &t.admin_token).await.ok(200);
    let found: Vec<&str> = after["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(found, vec![contact.as_str()], "{after}");
}

#[tokio::test]
async fn a_custom_lost_status_closes_like_lost_at_intake() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();
    let (p, _) = autoscout(&s, &t).await;
    // The tenant's own lost status: an opportunity in it is closed, so a new lead opens another.
    s.post(
        "/api/v1/statuses?entity=opportunity",
        tok,
        json!({"key": "cancelled", "labels": {"fr": "Annulé", "nl": "Geannuleerd", "en": "Cancelled"},
               "kind": "lost", "probability": 0}),
    )
    .await
    .ok(201);
    let email = unique_email("cancelled");
    let contact = s
        .post(
            "/api/v1/contacts",
            tok,
            json!({"kind": "person", "last_name": "Peeters", "emails": [email]}),
        )
        .await
        .ok(201)
        .str("id");
    let opp = s
        .post(
            "/api/v1/opportunities",
            tok,
            json!({"contacts": [{"contact_id": contact}]}),
        )
        .await
        .ok(201)
        .str("id");
    let closed = s
        .post(
            &format!("/api/v1/opportunities/{opp}/status"),
            tok,
            json!({"status": "cancelled", "reason": "changed plans"}),
        )
        .await
        .ok(200);
    assert_eq!(closed["closed"], true, "{closed}");
    let answer = push(&s, &p, &lead(Some("C-1"), &email)).await.ok(202);
    let r = only_result(&answer);
    assert_eq!(r["outcome"], "created", "{answer}");
    assert_ne!(r["opportunity_id"], opp.as_str());
    assert_eq!(r["contact_id"], contact.as_str());
}
