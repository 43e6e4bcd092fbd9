//! `forecourt bench intake`: the sustained rate of lead intake through the real HTTP endpoint
//! (signature, parsing, delivery log, idempotency key, contact matching, opportunity,
//! lead-page actions), against a raw single-row insert through the same pool in the same run
//! (the baseline of `bench api`). The first and the last leads of the sustained phase are
//! reported apart, so a rate that decays as the tables grow shows.

use crate::{
    Server,
    bench::bench_tenant,
    bench_api::{Scratch, Throughput, run},
};
use std::fmt::Write;
use uuid::Uuid;

/// Leads in each of the windows reported apart (fewer when the run is short).
const WINDOW: usize = 2000;

/// Deliveries in each of the side phases (merged, duplicate, ADF) at most: they show what a
/// lead costs in the other cases; the sustained figure is the new-customer phase's.
const SIDE_PHASE: usize = 2000;

const FIRST: &[&str] = &[
    "Gérard", "Anne", "Jean", "Marie", "Luc", "Sophie", "Pieter", "Els", "Koen", "Inès", "Thomas",
    "Léa", "Bart", "Nathalie", "Wim", "Chloé", "Jan", "Hélène", "Stijn", "Zoë",
];
const LAST: &[&str] = &[
    "Ménard", "Peeters", "Janssens", "Dubois", "Lambert", "Maes", "Jacobs", "Mertens", "Willems",
    "Claes", "Goossens", "Wouters", "De Smet",
];

fn json_lead(run: &str, i: usize, lead_id: &str) -> serde_json::Value {
    serde_json::json!({"prospects": [{
        "ids": [{"value": lead_id, "source": "bench"}],
        "customer": {
            "first_name": FIRST[i % FIRST.len()],
            "last_name": LAST[i % LAST.len()],
            "emails": [format!("lead-{run}-{i}@example.be")],
            "phones": [{"number": format!("0470 {:02} {:02} {:02}", i / 10_000 % 100, i / 100 % 100, i % 100)}],
            "comments": "Is the car still available? I can come on Saturday.",
        },
        "vehicles": [
            {"interest": "buy", "status": "used", "year": 2021, "make": "Opel", "model": "Corsa", "price": 15990.0},
            {"interest": "trade_in", "year": 2014, "make": "Peugeot", "model": "208", "mileage_km": 142000},
        ],
        "provider": {"name": "AutoScout24"},
    }]})
}

fn adf_lead(run: &str, i: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf><prospect status="new">
<id sequence="1" source="bench-adf">adf-{run}-{i}</id>
<requestdate>2026-11-20T10:00:00+01:00</requestdate>
<vehicle interest="buy" status="used"><year>2022</year><make>Opel</make><model>Mokka</model></vehicle>
<customer><contact>
<name part="first">{first}</name><name part="last">{last}</name>
<email>adf-{run}-{i}@example.be</email><phone>+32 2 123 45 67</phone>
</contact><comments>Financing possible?</comments></customer>
<vendor><vendorname>Bench</vendorname></vendor>
<provider><name part="full">2dehands</name></provider>
</prospect></adf>"#,
        first = FIRST[i % FIRST.len()],
        last = LAST[i % LAST.len()],
    )
}

/// Runs the sustained phase of `leads` new-customer JSON leads and the side phases at
/// `concurrency` in flight, and answers the report.
pub async fn intake(server: &Server, leads: usize, concurrency: usize) -> anyhow::Result<String> {
    let app = &server.app;
    let err = |e: forecourt_core::Error| anyhow::anyhow!("{e}");
    let (t, _) = bench_tenant(app).await?;
    let connector = forecourt_connectors::connectors::service::create_as(
        app,
        forecourt_core::tenancy::TenantId::new(t.tenant_id),
        "bench",
        forecourt_connectors::connectors::service::NewConnector {
            partner: "AutoScout24",
            name: "Bench feed",
            establishment_id: Some(t.establishment_id),
            source_id: None,
            enabled: true,
        },
    )
    .await
    .map_err(err)?;
    let key = forecourt_connectors::signature::key_of(&connector.secret)
        .ok_or_else(|| anyhow::anyhow!("connector secret"))?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let run_id = Uuid::now_v7().simple().to_string();
    let inbound = format!("{base}/inbound/{}/leads", connector.id);

    // Posts one signed delivery and checks every prospect came out as `want`.
    let deliver = |body: Vec<u8>, content_type: &'static str, want: &'static str| {
        let (client, inbound, key) = (client.clone(), inbound.clone(), key.clone());
        async move {
            let id = format!("msg_{}", Uuid::now_v7().simple());
            let ts = chrono::Utc::now().timestamp();
            let signature = forecourt_connectors::signature::sign(&key, &id, ts, &body);
            let resp = client
                .post(&inbound)
                .header("content-type", content_type)
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await?;
            let status = resp.status();
            let answer: serde_json::Value = resp.json().await?;
            let outcome = answer["results"][0]["outcome"].as_str().unwrap_or_default();
            anyhow::ensure!(
                status.as_u16() == 202 && outcome == want,
                "expected {want}, got {status}: {answer}"
            );
            Ok(())
        }
    };
    let json = |i: usize, lead_id: String, want: &'static str| {
        let body = serde_json::to_vec(&json_lead(&run_id, i, &lead_id)).unwrap_or_default();
        deliver(body, "application/json", want)
    };

    // A few leads first, not counted: the node's one-off start (prepared statements, lazily
    // loaded phone metadata, the pool filling up) is not what the sustained rate is about.
    let warm_up = concurrency.max(1);
    // Customers of their own (numbered after the measured ones): the phases stay as planned.
    run(app, warm_up, concurrency, |i| {
        json(leads + i, format!("warm-{run_id}-{i}"), "created")
    })
    .await?;
    let scratch = Scratch::create(app, 0).await?;
    let baseline = scratch.insert(leads.max(1), concurrency).await;
    scratch.drop().await?;
    let baseline = baseline?;
    let created = run(app, leads, concurrency, |i| {
        json(i, format!("new-{run_id}-{i}"), "created")
    })
    .await?;
    let side = leads.min(SIDE_PHASE);
    let merged = run(app, side, concurrency, |i| {
        json(i, format!("again-{run_id}-{i}"), "merged")
    })
    .await?
    .all();
    let duplicate = run(app, side, concurrency, |i| {
        json(i, format!("new-{run_id}-{i}"), "duplicate")
    })
    .await?
    .all();
    let adf = run(app, side, concurrency, |i| {
        deliver(
            adf_lead(&run_id, i).into_bytes(),
            "application/xml",
            "created",
        )
    })
    .await?
    .all();

    let window = WINDOW.min(leads / 2).max(1);
    let first = created.window(0, window);
    let last = created.window(leads.saturating_sub(window), leads);
    let all = created.all();
    let mut out = String::new();
    writeln!(
        out,
        "lead intake over HTTP on {}: {leads} new-customer JSON leads sustained, {side} per \
         side phase, {concurrency} in flight; the baseline is a raw single-row INSERT through \
         the same pool at the same concurrency; stmts = statements the node sent per lead",
        if forecourt_core::db::is_postgres(&app.db) {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    )?;
    writeln!(
        out,
        "{:<52} {:>10} {:>10} {:>10} {:>14} {:>8}",
        "phase", "per s", "median ms", "p95 ms", "÷ baseline", "stmts"
    )?;
    let rows: [(String, &Throughput); 7] = [
        ("baseline: single-row INSERT".into(), &baseline),
        (format!("JSON lead, new customer: all {leads}"), &all),
        (format!("  first {window}"), &first),
        (format!("  last {window}"), &last),
        ("JSON lead, known customer (merged)".into(), &merged),
        ("JSON lead sent again (duplicate)".into(), &duplicate),
        ("ADF lead, new customer (created)".into(), &adf),
    ];
    for (name, r) in rows {
        writeln!(
            out,
            "{name:<52} {:>10.1} {:>10.1} {:>10.1} {:>14.3} {:>8.1}",
            r.per_second,
            r.median_ms,
            r.p95_ms,
            r.per_second / baseline.per_second,
            r.statements
        )?;
    }
    writeln!(
        out,
        "decay: the last {window} ran at {:.2} of the first {window}'s rate",
        last.per_second / first.per_second.max(f64::MIN_POSITIVE)
    )?;
    Ok(out)
}
