//! Issue 9, input defects: dates the database cannot hold, wrong JSON types, bodies read
//! before authentication, oversized request heads, lead sources in use, and `null` values
//! the OpenAPI document did not allow.

use forecourt_tests::*;
use serde_json::{Value, json};
use std::time::Duration;

const REPORT: &str = "/api/v1/reports/lead-sources";

/// Creates an opportunity for a new contact, with `extra` merged into the body.
async fn opportunity(s: &TestServer, token: &str, extra: Value) -> Value {
    let contact = s.create_contact(token).await;
    let mut body = json!({"contacts": [{"contact_id": contact}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    s.post("/api/v1/opportunities", token, body).await.ok(201)["opportunity"].clone()
}

// Item 7 ---------------------------------------------------------------------------------------

#[tokio::test]
async fn dates_outside_1900_to_2200_are_refused_naming_the_parameter() {
    let s = TestServer::start().await;
    let t = s.tenant("expert").await;
    let tok = t.admin_token.as_str();

    // The probe of the issue: a 500 on PostgreSQL ("timestamp out of range").
    let r = s
        .get(&format!("{REPORT}?from=-9999-01-01&to=9999-12-31"), tok)
        .await;
    let p = r.invalid("from");
    assert!(p["detail"].as_str().unwrap().contains("1900"), "{p}");
    s.get(&format!("{REPORT}?from=2020-01-01&to=9999-12-31"), tok)
        .await
        .invalid("to");
    s.get(&format!("{REPORT}?from=1899-12-31"), tok)
        .await
        .invalid("from");
    s.get(&format!("{REPORT}?to=2201-01-01"), tok)
        .await
        .invalid("to");
    // The bounds themselves are days like any other.
    let ok = s
        .get(&format!("{REPORT}?from=1900-01-01&to=2200-12-31"), tok)
        .await
        .ok(200);
    assert_eq!(ok["from"], "1900-01-01");

    // The connectors' delivery log filters on the same kind of column.
    let c = s
        .post(
            "/api/v1/connectors",
            tok,
            json!({"partner": "Website", "name": "Site"}),
        )
        .await
        .ok(201);
    let deliveries = format!("/api/v1/connectors/{}/deliveries", c.str("id"));
    s.get(&format!("{deliveries}?from=-9999-01-01"), tok)
        .await
        .invalid("from");
    s.get(&format!("{deliveries}?to=9999-12-31T00:00:00Z"), tok)
        .await
        .invalid("to");
    s.get(&format!("{deliveries}?from=2020-01-01&to=2030-12-31"), tok)
        .await
        .ok(200);

    // Dates in lead-page bodies follow the same rule.
    let o = opportunity(&s, tok, json!({})).await;
    let follow_ups = format!("/api/v1/opportunities/{}/follow-ups", o.str("id"));
    s.post(
        &follow_ups,
        tok,
        json!({"deadline": "2999-01-01T10:00:00Z", "reason": "Call back"}),
    )
    .await
    .invalid("deadline");
    let tasks = format!("/api/v1/opportunities/{}/tasks", o.str("id"));
    s.post(
        &tasks,
        tok,
        json!({"title": "Call", "due_at": "1850-01-01T10:00:00Z", "assignee_id": t.admin_user_id}),
    )
    .await
    .invalid("due_at");
    s.post(
        &follow_ups,
        tok,
        json!({"deadline": "2030-01-01T10:00:00Z", "reason": "Call back"}),
    )
    .await
    .ok(201);
    s.stop().await;
}
