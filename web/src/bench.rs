//! `forecourt bench`: performance measured in the same run as a baseline, reported as ratios.

use forecourt_core::{App, access::Tier};
use forecourt_tenants::platform::{NewAdmin, NewCompany, NewEstablishment, Onboarding, onboard};
use std::{fmt::Write, time::Instant};
use uuid::Uuid;

const FIRST: &[&str] = &[
    "Gérard", "Anne", "Jean", "Marie", "Luc", "Sophie", "Pieter", "Els", "Koen", "Inès", "Thomas",
    "Léa", "Bart", "Nathalie", "Wim", "Chloé", "Jan", "Hélène", "Stijn", "Zoë",
];
const LAST: &[&str] = &[
    "Ménard",
    "Peeters",
    "Janssens",
    "Dubois",
    "Lambert",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dupont",
    "Lefèvre",
    "Vermeulen",
    "Desmet",
    "Leclercq",
    "Van Damme",
    "Michiels",
    "Renard",
    "Simon",
    "Hermans",
    "Aerts",
    "Fontaine",
];

/// An Expert tenant of its own for one bench run, with its admin's login email.
pub(crate) async fn bench_tenant(
    app: &App,
) -> anyhow::Result<(forecourt_tenants::platform::Onboarded, String)> {
    let slug = Uuid::now_v7().simple().to_string();
    let email = format!("bench-{slug}@example.be");
    let t = onboard(
        app,
        None,
        &Onboarding {
            name: format!("Bench {slug}"),
            licence: Tier::Expert,
            country: None,
            language: None,
            company: NewCompany {
                name: "Bench SA".into(),
                vat_number: None,
                national_number: None,
            },
            establishment: NewEstablishment {
                name: "Bench".into(),
            },
            admin: NewAdmin {
                email: email.clone(),
                name: "Bench".into(),
                password: Some(BENCH_PASSWORD.into()),
            },
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((t, email))
}

const BENCH_PASSWORD: &str = "bench-password";

/// Signs the bench tenant's admin in over HTTP and answers the bearer token.
pub(crate) async fn login(
    client: &reqwest::Client,
    base: &str,
    email: &str,
) -> anyhow::Result<String> {
    let answer: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": BENCH_PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login: {answer}"))?
        .to_string())
}

/// One phase of the intake bench: `n` requests at `concurrency`, each checked.
pub(crate) struct Throughput {
    pub(crate) per_second: f64,
    pub(crate) median_ms: f64,
    pub(crate) p95_ms: f64,
}

pub(crate) async fn drive<F, Fut>(n: usize, concurrency: usize, f: F) -> anyhow::Result<Throughput>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use futures::StreamExt;
    let started = Instant::now();
    let mut latencies: Vec<f64> = futures::stream::iter(0..n)
        .map(|i| {
            let call = f(i);
            async move {
                let t = Instant::now();
                call.await?;
                Ok::<_, anyhow::Error>(t.elapsed().as_secs_f64() * 1000.0)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let total = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    Ok(Throughput {
        per_second: n as f64 / total,
        median_ms: at(0.5),
        p95_ms: at(0.95),
    })
}

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

/// The sustained rate of lead intake through the real HTTP endpoint (signature, parsing,
/// delivery log, idempotency key, contact matching, opportunity, lead-page actions), against
/// the baseline of creating one contact through the authenticated API, measured in the same
/// run on the same node and database.
pub async fn intake(
    server: &crate::Server,
    leads: usize,
    concurrency: usize,
) -> anyhow::Result<String> {
    let app = &server.app;
    let err = |e: forecourt_core::Error| anyhow::anyhow!("{e}");
    let (t, email) = bench_tenant(app).await?;
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
    let token = login(&client, &base, &email).await?;
    let run = Uuid::now_v7().simple().to_string();
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

    let baseline = drive(leads, concurrency, |i| {
        let (client, url, token) = (
            client.clone(),
            format!("{base}/api/v1/contacts"),
            token.clone(),
        );
        let run = run.clone();
        async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "kind": "person",
                    "first_name": FIRST[i % FIRST.len()],
                    "last_name": LAST[i % LAST.len()],
                    "emails": [format!("base-{run}-{i}@example.be")],
                }))
                .send()
                .await?;
            anyhow::ensure!(resp.status().as_u16() == 201, "contact: {}", resp.status());
            Ok(())
        }
    })
    .await?;
    let created = drive(leads, concurrency, |i| {
        let body = json_lead(&run, i, &format!("new-{run}-{i}"));
        deliver(
            serde_json::to_vec(&body).unwrap_or_default(),
            "application/json",
            "created",
        )
    })
    .await?;
    let merged = drive(leads, concurrency, |i| {
        let body = json_lead(&run, i, &format!("again-{run}-{i}"));
        deliver(
            serde_json::to_vec(&body).unwrap_or_default(),
            "application/json",
            "merged",
        )
    })
    .await?;
    let duplicate = drive(leads, concurrency, |i| {
        let body = json_lead(&run, i, &format!("new-{run}-{i}"));
        deliver(
            serde_json::to_vec(&body).unwrap_or_default(),
            "application/json",
            "duplicate",
        )
    })
    .await?;
    let adf = drive(leads, concurrency, |i| {
        deliver(adf_lead(&run, i).into_bytes(), "application/xml", "created")
    })
    .await?;

    let mut out = String::new();
    writeln!(
        out,
        "lead intake over HTTP on {}: {leads} deliveries per phase, {concurrency} in flight",
        if app.config.database_url().starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    )?;
    writeln!(
        out,
        "{:<52} {:>10} {:>10} {:>10} {:>18}",
        "phase", "per s", "median ms", "p95 ms", "rate ÷ baseline"
    )?;
    for (name, r) in [
        ("baseline: create a contact (POST /contacts)", &baseline),
        ("JSON lead, new customer (created)", &created),
        ("JSON lead, known customer (merged)", &merged),
        ("JSON lead sent again (duplicate)", &duplicate),
        ("ADF lead, new customer (created)", &adf),
    ] {
        writeln!(
            out,
            "{name:<52} {:>10.1} {:>10.1} {:>10.1} {:>18.2}",
            r.per_second,
            r.median_ms,
            r.p95_ms,
            r.per_second / baseline.per_second
        )?;
    }
    Ok(out)
}
