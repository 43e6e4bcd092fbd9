//! `forecourt bench`: performance measured in the same run as a baseline, reported as ratios.

use forecourt_core::{App, access::Action, access::Tier, context::TenantUser};
use forecourt_crm::contacts::service::{self, ContactData};
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

fn contact(i: usize, assigned: Uuid, establishment: Uuid) -> ContactData {
    let (f, l) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
    ContactData {
        kind: "person".into(),
        title: None,
        first_name: Some(f.into()),
        last_name: Some(l.into()),
        company_name: None,
        national_number: None,
        emails: vec![format!(
            "{}.{}.{i}@example.be",
            forecourt_crm::contacts::validate::fold(f),
            forecourt_crm::contacts::validate::words(l).join("")
        )],
        // +32 47x xx xx xx: unique per contact.
        phones: vec![format!("+3247{:07}", 1_000_000 + i)],
        addresses: vec![],
        vat_rate: None,
        vat_number: None,
        position: None,
        language: None,
        employer_id: None,
        birth_date: None,
        groups: vec![],
        comments: None,
        blocked: false,
        lifecycle: "prospect".into(),
        assigned_user_id: Some(assigned),
        establishment_id: Some(establishment),
        company_id: None,
    }
}

struct Stats {
    median_us: f64,
    p95_us: f64,
}

async fn measure<F, Fut>(iterations: usize, mut f: F) -> anyhow::Result<Stats>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..3 {
        f().await?;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        f().await?;
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Ok(Stats {
        median_us: at(0.5),
        p95_us: at(0.95),
    })
}

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

/// Seeds a tenant of `n` contacts and measures contact search, cold (cache generation moved
/// on before every call) and cached, against the baseline of reading one contact by id.
pub async fn search(app: &App, n: usize, iterations: usize) -> anyhow::Result<String> {
    let err = |e: forecourt_core::Error| anyhow::anyhow!("{e}");
    let (t, _) = bench_tenant(app).await?;
    let user = TenantUser {
        tenant_id: t.tenant_id,
        user_id: t.admin_user_id,
        establishment_id: Some(t.establishment_id),
    };
    // The admin reads every contact of the tenant: tenant scope, as a counter would search.
    let cx = app
        .authz
        .context(&user, "contacts", Action::Read)
        .await
        .map_err(err)?;
    let seeding = Instant::now();
    let mut target = None;
    for start in (0..n).step_by(5000) {
        let batch: Vec<(Uuid, ContactData)> = (start..(start + 5000).min(n))
            .map(|i| (Uuid::now_v7(), contact(i, user.user_id, t.establishment_id)))
            .collect();
        target = target.or(batch.first().map(|(id, _)| *id));
        let txn = forecourt_core::db::begin(&app.db).await?;
        service::insert_many(&txn, &user, &batch, Some(user.user_id), app.clock.now())
            .await
            .map_err(err)?;
        txn.commit().await?;
    }
    let seeded_in = seeding.elapsed();
    let target = target.ok_or_else(|| anyhow::anyhow!("no contacts"))?;

    let mut out = String::new();
    writeln!(
        out,
        "contact search on a tenant of {n} contacts (seeded in {:.1} s), {iterations} samples each",
        seeded_in.as_secs_f64()
    )?;
    writeln!(
        out,
        "{:<44} {:>12} {:>12} {:>16}",
        "operation", "median µs", "p95 µs", "median ÷ baseline"
    )?;
    let baseline = measure(iterations, || async {
        service::load_visible(app, &app.db, &cx, target)
            .await
            .map_err(err)?;
        Ok(())
    })
    .await?;
    writeln!(
        out,
        "{:<44} {:>12.0} {:>12.0} {:>16}",
        "baseline: read one contact by id", baseline.median_us, baseline.p95_us, "1.00"
    )?;
    for q in [
        "gerard menard",
        "gér",
        "0470 00 00 00",
        "gerard.menard.0@example.be",
    ] {
        let cold = measure(iterations, || async {
            service::searches_changed(app, &user).await;
            forecourt_crm::search::service::search_contacts(app, &cx, q, 20)
                .await
                .map_err(err)?;
            Ok(())
        })
        .await?;
        let cached = measure(iterations, || async {
            forecourt_crm::search::service::search_contacts(app, &cx, q, 20)
                .await
                .map_err(err)?;
            Ok(())
        })
        .await?;
        for (label, s) in [("cold", cold), ("cached", cached)] {
            writeln!(
                out,
                "{:<44} {:>12.0} {:>12.0} {:>16.2}",
                format!("search {label} {q:?}"),
                s.median_us,
                s.p95_us,
                s.median_us / baseline.median_us
            )?;
        }
    }
    Ok(out)
}
