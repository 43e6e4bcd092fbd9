//! What the benches share: a tenant of their own and its admin's login. Each bench is in its
//! own file (`bench_api`, `bench_intake`, `bench_search`, `bench_start`) and prints its figures
//! beside a baseline measured in the same run, as ratios.

use forecourt_core::{App, access::Tier};
use forecourt_tenants::platform::{NewAdmin, NewCompany, NewEstablishment, Onboarding, onboard};
use uuid::Uuid;

/// What onboarding a bench tenant asks for: an Expert tenant named `name` with one company,
/// one establishment and an admin at `email` (with `password`, or none when nobody logs in).
pub(crate) fn onboarding(name: String, email: String, password: Option<&str>) -> Onboarding {
    Onboarding {
        name,
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
            email,
            name: "Bench".into(),
            password: password.map(Into::into),
        },
    }
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
        &onboarding(format!("Bench {slug}"), email.clone(), Some(BENCH_PASSWORD)),
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
